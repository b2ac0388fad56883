"""The shop and the checkout's result as WooCommerce 10.0.2 models them (data only; the arithmetic is
in ``checkout.py``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from agent.sandbox.woo.coupons import Coupon
from agent.sandbox.woo.taxes import ZERO, TaxRate, standard_slug


class CheckoutError(ValueError):
    """The request would be refused by WooCommerce (HTTP 400 with this ``code``)."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Product:
    """A purchasable product or variation; ``price`` as entered (incl. tax if the shop says so)."""

    id: int
    name: str
    price: Decimal
    sku: str = ""
    tax_status: str = "taxable"  # taxable | shipping | none
    tax_class: str = ""
    parent_id: int = 0
    parent_name: str | None = None
    virtual: bool = False
    downloadable: bool = False
    attributes: tuple[tuple[str, str, str], ...] = ()  # (slug, label, option) -> item meta


@dataclass(frozen=True)
class ShopSettings:
    base_country: str = "DK"
    currency: str = "DKK"
    prices_include_tax: bool = True
    tax_based_on: str = "shipping"  # shipping | billing | base
    shipping_tax_class: str = "inherit"
    decimals: int = 2
    tax_classes: tuple[str, ...] = ("reduced-rate", "zero-rate")  # order as WC_Tax::get_tax_class_slugs
    # woocommerce_tax_round_at_subtotal: line, shipping and coupon taxes stay unrounded and only the order's
    # totals are rounded (abstract-wc-order.php update_taxes / calculate_totals, trait-wc-item-totals.php).
    round_at_subtotal: bool = False


@dataclass(frozen=True)
class Shop:
    settings: ShopSettings
    rates: tuple[TaxRate, ...]
    products: Mapping[int, Product]
    coupons: Mapping[str, Coupon]

    def product_by_sku(self, sku: str) -> Product | None:
        return next((p for p in self.products.values() if p.sku and p.sku == sku), None)

    def rate(self, rate_id: int) -> TaxRate:
        return next(r for r in self.rates if r.id == rate_id)


@dataclass
class ItemLine:
    product: Product
    quantity: int
    subtotal: Decimal
    total: Decimal
    subtotal_taxes: dict[int, Decimal] = field(default_factory=dict)
    taxes: dict[int, Decimal] = field(default_factory=dict)
    subtotal_tax: Decimal = ZERO
    total_tax: Decimal = ZERO
    request: Mapping[str, Any] = field(default_factory=dict)

    @property
    def taxable(self) -> bool:
        return self.product.tax_status == "taxable"

    @property
    def tax_class(self) -> str:
        return standard_slug(self.product.tax_class)


@dataclass
class ShippingCharge:
    method_id: str
    method_title: str
    instance_id: str
    total: Decimal
    taxes: dict[int, Decimal] = field(default_factory=dict)
    total_tax: Decimal = ZERO
    request: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class FeeCharge:
    name: str
    tax_class: str
    tax_status: str
    total: Decimal
    taxes: dict[int, Decimal] = field(default_factory=dict)
    total_tax: Decimal = ZERO
    request: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CouponResult:
    coupon: Coupon
    discount: Decimal  # excl. tax when prices include tax; not dp-rounded (WooCommerce prints it raw)
    discount_tax: Decimal


@dataclass(frozen=True)
class TaxTotal:
    rate: TaxRate
    tax_total: Decimal
    shipping_tax_total: Decimal


@dataclass
class Checkout:
    currency: str
    tax_country: str
    is_vat_exempt: bool
    lines: list[ItemLine]
    shipping: list[ShippingCharge]
    fees: list[FeeCharge]
    coupons: list[CouponResult]
    tax_lines: list[TaxTotal]
    discount_total: Decimal = ZERO
    discount_tax: Decimal = ZERO
    shipping_total: Decimal = ZERO
    shipping_tax: Decimal = ZERO
    cart_tax: Decimal = ZERO
    total: Decimal = ZERO
    total_tax: Decimal = ZERO
