"""A realistic small Danish set of accounts for the sandbox (names other code depends on:
VAT codes K25/K0/EUV/EXP/OSS-<CC>-<rate>, groups B2C/B2B/EAN, terms Kontant/Netto N, draft Webshop)."""

from __future__ import annotations

from decimal import Decimal

from agent.plan.eurates import oss_codes

from .store import Store

# The agent's shipped OSS pattern ([vat] oss_code): one code per EU country and rate, standard and reduced,
# each carrying its rate, so a line put on a code of another rate shows up as a wrong VAT amount.
OSS_PATTERN = "OSS-{country}-{rate}"
OSS_CODES: dict[str, Decimal] = oss_codes(OSS_PATTERN, "DK")

ACCOUNTS = [
    ("1010", "Salg af varer, Danmark", "K25"),
    ("1020", "Salg af varer, EU (B2B)", "EUV"),
    ("1025", "Salg af varer, EU (OSS)", None),
    ("1030", "Salg af varer, udland", "EXP"),
    ("1040", "Salg af ydelser / fragt", "K25"),
    ("5600", "Debitorer", None),
    ("5810", "Kasse", None),
    ("5820", "Bank", None),
    ("5830", "Betalingsgateway (clearing)", None),
    ("7400", "Salgsmoms", None),
    ("7410", "Moms af EU-køb", None),
    ("7420", "Købsmoms", None),
]

SERVICE_PRODUCTS = [
    ("SHIPPING", "Fragt"),
    ("FEE", "Gebyr"),
    ("DISCOUNT", "Rabat"),
    ("ROUNDING", "Øreafrunding"),
    ("MISC", "Diverse"),
    ("REFUND", "Kreditering"),
    ("RESTOCKING", "Returgebyr (beholdt)"),
]

DEMO_PRODUCTS = [
    ("KRUS-001", "Kaffekrus, hvid", "79.20", "40"),
    ("TSHIRT-S", "T-shirt, small", "159.20", "12"),
    ("TSHIRT-M", "T-shirt, medium", "159.20", "20"),
    ("TSHIRT-L", "T-shirt, large", "159.20", "3"),
    ("HOODIE-S", "Hættetrøje, small", "319.20", "10"),  # the shop keeps both sizes' stock on the parent
    ("HOODIE-M", "Hættetrøje, medium", "319.20", "14"),
    ("BONNE-001", "Kaffebønner 1 kg", "115.18", "30"),
]


def seed(store: Store) -> None:
    _vatcodes(store)
    for name, days in (("Kontant", 0), ("Netto 8", 8), ("Netto 14", 14), ("Netto 30", 30)):
        store.insert("payment", {"name": name, "days": days})
    for currency in ("DKK", "EUR", "SEK", "NOK", "USD", "GBP"):
        store.insert("currency", {"name": currency})
    for unit in ("stk", "time", "kg"):
        store.insert("unit", {"name": unit})
    for number, name, vatcode in ACCOUNTS:
        store.insert("account", {"account_id_": number, "name": name, "vatcode_name": vatcode, "type": "OPERATING"})
    store.insert("product_group", {"name": "Varer", "is_stocked": True, "account_id_": "1010"})
    store.insert("product_group", {"name": "Ydelser", "is_stocked": False, "account_id_": "1040"})
    for name, terms in (("B2C", "Kontant"), ("B2B", "Netto 14"), ("EAN", "Netto 30")):
        store.insert("debtor_group", {
            "name": name, "payment_name": terms, "vatcode_name": "K25", "ref_currency_name": "DKK",
            "payment_method": "BANK_ACCOUNT", "lang": "da",
        })  # fmt: skip
    store.insert("draft", {"name": "Webshop"})
    for name, txt in (("WEB-DK", "Webshop .dk"), ("WEB-DE", "Webshop .de"), ("B2B", "B2B-shop")):
        store.insert("dimension", {"name": name, "txt": txt})
    for number, name in SERVICE_PRODUCTS:
        add_product(store, number, name, Decimal(0), stocked=False)
    for number, name, price, stock in DEMO_PRODUCTS:
        add_product(store, number, name, Decimal(price), stocked=True, in_stock=Decimal(stock))


def _vatcodes(store: Store) -> None:
    store.insert("vatcode", {"name": "K25", "rate": Decimal(25), "type": "SALE", "txt": "Salgsmoms 25%"})
    store.insert("vatcode", {"name": "K0", "rate": Decimal(0), "type": "SALE", "txt": "Momsfrit salg"})
    store.insert("vatcode", {"name": "EUV", "rate": Decimal(0), "type": "SALE_EU_GOODS",
                             "txt": "EU-salg af varer, omvendt betalingspligt"})  # fmt: skip
    store.insert("vatcode", {"name": "EXP", "rate": Decimal(0), "type": "SALE_EXPORT", "txt": "Eksport uden for EU"})
    for name, rate in OSS_CODES.items():
        store.insert("vatcode", {"name": name, "rate": rate, "type": "SALE_OSS", "txt": f"OSS {name[4:6]} {rate}%"})


def add_product(
    store: Store,
    number: str,
    name: str,
    price: Decimal,
    *,
    stocked: bool,
    in_stock: Decimal = Decimal(0),
) -> dict[str, object]:
    """Create or update a product directly (inspection API / tests), stock included."""
    group = store.find("product_group", "name", "Varer" if stocked else "Ydelser")
    assert group is not None
    values = {
        "product_id_": number, "name": name, "price": price, "product_group_name": group["name"],
        "product_group_id": group["id"], "unit_name": "stk", "is_stocked": stocked, "in_stock": in_stock,
        "in_order": Decimal(0), "in_supplier_order": Decimal(0), "time_stock_change": store.clock(),
    }  # fmt: skip
    existing = store.find("product", "product_id_", number)
    if existing is not None:
        existing.update(values)
        return existing
    return store.insert("product", values)


def set_stock(
    store: Store, number: str, in_stock: Decimal | None, in_order: Decimal | None = None
) -> dict[str, object]:
    """Goods received, a stock count, or a debtor order reserving goods (A-35): the stock moves now."""
    product = store.find("product", "product_id_", number)
    if product is None:
        raise KeyError(number)
    if in_stock is not None:
        product["in_stock"] = in_stock
    if in_order is not None:
        product["in_order"] = in_order
    product["time_stock_change"] = store.clock()
    return product
