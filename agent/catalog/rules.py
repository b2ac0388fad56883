"""A shop product → the Dynaccount product it stands for (pure: no HTTP, no journal).

The price Dynaccount holds is excl. VAT. WooCommerce stores the price as entered: including tax when the shop's
``woocommerce_prices_include_tax`` is ``yes``, else excluding. An inclusive price is turned into its net the way
WooCommerce itself does it (``WC_Tax::calc_inclusive_tax`` over the base location's rates of the product's tax
class: compound rates first, then the others together), so the net is what the shop's own checkout would show.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from agent.dynaccount.models import ProductFields
from agent.plan.settings import ProductSettings

HUNDRED = Decimal(100)


class BadData(Exception):
    """The shop's data cannot be synced as it is; the item fails with this reason."""


@dataclass(frozen=True)
class Rate:
    country: str
    state: str
    percent: Decimal
    priority: int
    compound: bool
    tax_class: str  # "standard" for the default class


@dataclass(frozen=True)
class ShopFacts:
    """What the shop says about its prices, read over REST (settings/tax, settings/general, taxes)."""

    prices_include_tax: bool
    base_country: str
    base_state: str = ""
    decimals: int = 2
    currency: str = "DKK"
    rates: tuple[Rate, ...] = field(default_factory=tuple)

    def base_rates(self, tax_class: str) -> list[Rate]:
        """The base location's rates of a class, one per priority (``WC_Tax::find_rates``)."""
        wanted = tax_class or "standard"
        found: dict[int, Rate] = {}
        for r in self.rates:
            if r.tax_class != wanted or r.country not in ("", self.base_country):
                continue
            if r.state not in ("", self.base_state) or r.priority in found:
                continue
            found[r.priority] = r
        return [found[p] for p in sorted(found)]


def money(raw: Any, what: str) -> Decimal | None:
    """A stored WooCommerce price string: "" is no price; anything else must be a number."""
    if raw is None or raw == "":
        return None
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        raise BadData(f"the {what} {raw!r} is not a number") from None
    if not value.is_finite():
        raise BadData(f"the {what} {raw!r} is not a number")
    return value


def net_price(gross: Decimal, tax_status: str, tax_class: str, facts: ShopFacts) -> Decimal:
    """The price excl. VAT, rounded to the shop's decimals (half up, as ``wc_round_tax_total`` does)."""
    net = gross
    if facts.prices_include_tax and tax_status == "taxable":
        rates = facts.base_rates(tax_class)
        for r in reversed([r for r in rates if r.compound]):  # compound taxes come off first
            net = net / (1 + r.percent / HUNDRED)
        simple = sum((r.percent for r in rates if not r.compound), Decimal(0))
        net = net / (1 + simple / HUNDRED)
    return net.quantize(Decimal(1).scaleb(-facts.decimals), rounding=ROUND_HALF_UP)


def product_number(product: dict[str, Any], settings: ProductSettings) -> str | None:
    """The one place a Dynaccount product number is built from a shop product: its SKU, or the configured
    rule for products without one (``[products] no_sku``); None = it has none and is reported."""
    sku = str(product.get("sku") or "").strip()
    if sku:
        return sku
    return settings.no_sku.replace("{id}", str(product["id"])) if settings.no_sku else None


def product_group(categories: list[dict[str, Any]], tax_class: str, settings: ProductSettings) -> str:
    mapping = settings.group_by_category
    for cat in categories:
        for key in (str(cat.get("slug") or ""), str(cat.get("name") or "")):
            if key and key in mapping:
                return mapping[key]
    return mapping.get(f"tax:{tax_class or 'standard'}", settings.default_group)


def _text(product: dict[str, Any], parent: dict[str, Any] | None, settings: ProductSettings) -> str | None:
    if settings.text == "none":
        return None
    raw = str(product.get(settings.text) or (parent or {}).get(settings.text) or "")
    return _strip_tags(raw).strip() or None


def _strip_tags(html: str) -> str:
    out, inside = [], False
    for ch in html:
        if ch == "<":
            inside = True
        elif ch == ">":
            inside = False
        elif not inside:
            out.append(ch)
    return "".join(out)


def product_fields(product: dict[str, Any], parent: dict[str, Any] | None, facts: ShopFacts,
                   settings: ProductSettings) -> ProductFields:  # fmt: skip
    """Every column the agent owns of the Dynaccount product (A-25). A variation takes what it leaves empty
    (tax class ``parent``, categories, text) from its parent."""
    number = product_number(product, settings)
    if number is None:
        raise BadData("the product has no SKU: set one in the shop (or [products] no_sku to number such products)")
    tax_class = str(product.get("tax_class") or "")
    if tax_class == "parent" and parent is not None:
        tax_class = str(parent.get("tax_class") or "")
    gross = money(product.get("regular_price"), "regular price")
    gross = gross if gross is not None else money(product.get("price"), "price")
    categories = product.get("categories") or (parent or {}).get("categories") or []
    weight = money(product.get("weight") or (parent or {}).get("weight"), "weight")
    return ProductFields(
        product_id_=number, name=_name(product, parent) or number,
        price=None if gross is None else net_price(gross, str(product.get("tax_status") or "taxable"), tax_class,
                                                   facts),
        product_group_name=product_group(categories, tax_class, settings), unit_name=settings.unit or None,
        weight=weight, txt=_text(product, parent, settings),
    )  # fmt: skip


def _name(product: dict[str, Any], parent: dict[str, Any] | None) -> str:
    """The products endpoint names a variation "T-shirt - S", the variations endpoint only "S": the full one."""
    name = str(product.get("name") or "").strip()
    parent_name = str((parent or {}).get("name") or "").strip()
    if parent is None or product.get("type") != "variation" or not parent_name or name.startswith(parent_name):
        return name
    return f"{parent_name} - {name}" if name else parent_name


def differs(wanted: ProductFields, held: dict[str, Any]) -> list[str]:
    """The columns whose value Dynaccount holds differs from the wanted one (compare before writing)."""
    out = []
    for key, value in wanted.model_dump().items():
        if key == "product_id_" or (value is None and held.get(key) in (None, "", Decimal(0), "0")):
            continue
        have = held.get(key)
        if isinstance(value, Decimal):
            try:
                same = have is not None and Decimal(str(have)) == value
            except InvalidOperation:
                same = False
        else:
            same = str(have or "") == str(value or "")
        if not same:
            out.append(key)
    return out
