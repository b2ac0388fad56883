"""The seeded Danish shop the sandbox plays (pure data; ids follow the real capture where it has them).

Real capture (fixtures/woocommerce-real): products 11 Kaffekrus, 12 Gaveindpakning, 13 T-shirt with
variations 14 (S) and 15 (M), coupon 16 ``velkommen10``, tax rates 1 DK / 2 DE / 3 SE. Orders and refunds
then take 17, 18, 19 … from the same post-id sequence, as they did there. Everything the capture does not
have uses ids from 100 up, so the first sandbox order is 17 like the real one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from agent.sandbox.woo.checkout import Product, Shop, ShopSettings
from agent.sandbox.woo.coupons import Coupon
from agent.sandbox.woo.taxes import TaxRate

D = Decimal


@dataclass
class CatalogueItem:
    """A product/variation with the stock fields the sandbox serves (mutable: stock changes)."""

    product: Product
    type: str = "simple"  # simple | variable | variation
    manage_stock: bool | str = False  # variations may say "parent"
    stock_quantity: int | None = None
    backorders: str = "no"
    weight: str = ""
    variations: list[int] = field(default_factory=list)
    attribute_options: list[str] = field(default_factory=list)  # variable parents: options offered
    total_sales: int = 0
    categories: list[dict[str, object]] = field(default_factory=list)  # [] renders as Uncategorized
    short_description: str = ""
    status: str = "publish"  # "trash" after DELETE without force

    @property
    def id(self) -> int:
        return self.product.id


TAX_RATES: tuple[TaxRate, ...] = (
    TaxRate(1, "DK", D("25.0000"), "Moms"),
    TaxRate(2, "DE", D("19.0000"), "MwSt."),
    TaxRate(3, "SE", D("25.0000"), "Moms (SE)"),
    TaxRate(4, "FR", D("20.0000"), "TVA"),
    # Same country and name as rate 1, so the same rate_code DK-MOMS-1 (spec §11.9: tell rates apart by id).
    TaxRate(5, "DK", D("25.0000"), "Moms", tax_class="reduced-rate"),
    TaxRate(6, "DK", D("0.0000"), "Momsfri", tax_class="zero-rate"),
    # OSS reduced rates for food and books (coffee beans are food), and the Netherlands: what a shop selling
    # to consumers across the EU sets up per country and class (issue 12).
    TaxRate(7, "DE", D("7.0000"), "MwSt. ermäßigt", tax_class="reduced-rate"),
    TaxRate(8, "FR", D("5.5000"), "TVA réduite", tax_class="reduced-rate"),
    TaxRate(9, "SE", D("12.0000"), "Moms livsmedel", tax_class="reduced-rate"),
    TaxRate(10, "NL", D("21.0000"), "BTW"),
    TaxRate(11, "NL", D("9.0000"), "BTW laag", tax_class="reduced-rate"),
)
# NO has no rate on purpose: export, no tax line (spec §11.2).

SIZE = ("storrelse", "Størrelse")


def _variation(vid: int, parent: int, parent_name: str, option: str, sku: str, price: str,
               manage: bool | str, stock: int | None) -> CatalogueItem:
    product = Product(id=vid, name=f"{parent_name} - {option}", price=D(price), sku=sku, parent_id=parent,
                      parent_name=parent_name, attributes=((SIZE[0], SIZE[1], option),))
    return CatalogueItem(product, type="variation", manage_stock=manage, stock_quantity=stock)


def catalogue() -> list[CatalogueItem]:
    """Fresh, mutable copies of the seeded products and variations."""
    return [
        CatalogueItem(Product(11, "Kaffekrus", D("99.00"), "KRUS-001"), manage_stock=True, stock_quantity=50,
                      weight="0.4"),
        CatalogueItem(Product(12, "Gaveindpakning", D("25.00"), "GAVE-001")),
        CatalogueItem(Product(13, "T-shirt", D("199.00"), "TSHIRT"), type="variable", variations=[14, 15, 100],
                      attribute_options=["S", "M", "L"]),
        _variation(14, 13, "T-shirt", "S", "TSHIRT-S", "199.00", True, 8),
        _variation(15, 13, "T-shirt", "M", "TSHIRT-M", "199.00", True, 4),
        _variation(100, 13, "T-shirt", "L", "TSHIRT-L", "199.00", True, 5),
        # Variable product whose variations leave stock to the parent (manage_stock "parent", spec §4.2).
        CatalogueItem(Product(101, "Hættetrøje", D("399.00"), "HOODIE"), type="variable", manage_stock=True,
                      stock_quantity=20, variations=[102, 103], attribute_options=["S", "M"]),
        _variation(102, 101, "Hættetrøje", "S", "HOODIE-S", "399.00", "parent", None),
        _variation(103, 101, "Hættetrøje", "M", "HOODIE-M", "399.00", "parent", None),
        CatalogueItem(Product(104, "Klistermærke", D("10.00"))),  # no SKU
        CatalogueItem(Product(105, "E-bog: Kaffe for begyndere", D("79.00"), "EBOG-001", virtual=True,
                              downloadable=True)),
        CatalogueItem(Product(106, "Dagblad (nulmoms)", D("30.00"), "AVIS-001", tax_class="zero-rate")),
        CatalogueItem(Product(107, "Kaffebønner 1 kg", D("129.00"), "BONNE-001", tax_class="reduced-rate"),
                      manage_stock=True, stock_quantity=25, weight="1"),
        CatalogueItem(Product(108, "Gavekort", D("250.00"), "GAVEKORT", tax_status="none", virtual=True)),
    ]


COUPONS: tuple[Coupon, ...] = (
    Coupon(16, "velkommen10", "percent", D("10")),
    Coupon(110, "krus20", "fixed_product", D("20")),
    Coupon(111, "fast50", "fixed_cart", D("50")),
    Coupon(112, "fragtfri", "fixed_cart", D("0"), free_shipping=True),
)

SHIPPING_METHODS: dict[str, dict[str, str]] = {
    "gls": {"method_id": "flat_rate", "method_title": "GLS Pakkeshop", "total": "39.20"},
    "postnord": {"method_id": "flat_rate", "method_title": "PostNord", "total": "47.20"},
    "dhl": {"method_id": "flat_rate", "method_title": "DHL", "total": "60.00"},
    "pickup": {"method_id": "local_pickup", "method_title": "Afhentning i butikken", "total": "0.00"},
    "free": {"method_id": "free_shipping", "method_title": "Gratis fragt", "total": "0.00"},
}

PAYMENT_METHODS: dict[str, str] = {
    "bacs": "Bankoverførsel",
    "stripe": "Kreditkort (Stripe)",
    "cod": "Betaling ved levering",
    "mobilepay": "MobilePay",
}

FIRST_FREE_POST_ID = 17  # orders/refunds share WordPress's post-id sequence; catalogue ids are skipped


def danish_shop(items: list[CatalogueItem] | None = None, settings: ShopSettings | None = None) -> Shop:
    """The :class:`Shop` (checkout view) for the seeded catalogue, or for ``items`` if given."""
    items = catalogue() if items is None else items
    return Shop(
        settings=settings or ShopSettings(),
        rates=TAX_RATES,
        products={i.id: i.product for i in items if i.type != "variable"},
        coupons={c.code: c for c in COUPONS},
    )
