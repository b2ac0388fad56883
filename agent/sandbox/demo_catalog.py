"""The demo's catalog part: the owner adds and edits products and customers in the shop, and they arrive in
Dynaccount without any sale (issue 15). The check reads Dynaccount's own rows, not the agent's journal, and
computes the expected net prices with the shop's checkout arithmetic."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from agent.sandbox.woo.seed import TAX_RATES
from agent.sandbox.woo.taxes import find_rates, inclusive_taxes

if TYPE_CHECKING:
    from agent.sandbox.demo import Stack

CATALOG: dict[str, dict[str, Any]] = {"products": {"on_shop_events": True, "sync": "create_and_update"},
           "debtors": {"update_existing": True, "create_on_customer_event": True}}  # fmt: skip


@dataclass
class CatalogVerdict:
    rows: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.rows) and not self.wrong


def _net(gross: str, tax_class: str = "") -> Decimal:
    g = Decimal(gross)
    taxes = inclusive_taxes(g, find_rates(TAX_RATES, "DK", tax_class))
    return (g - sum(taxes.values(), Decimal(0))).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


async def shop_owner_edits(stack: Stack, settle: Callable[[], Awaitable[None]]) -> CatalogVerdict:
    shop = stack.shop
    beans = await shop.request("POST", "products", json={"name": "Kaffebønner Etiopien", "sku": "BONNE-ETH",
                                                          "regular_price": "149.00", "tax_class": "reduced-rate",
                                                          "weight": "1", "categories": [{"id": 20}]})  # fmt: skip
    apron = await shop.request("POST", "products", json={"name": "Forklæde", "type": "variable", "sku": "APRON"})
    for size in ("S", "M"):
        await shop.request("POST", f"products/{apron['id']}/variations", json={
            "sku": f"APRON-{size}", "regular_price": "250.00", "attributes": [{"name": "Størrelse", "option": size}]})
    ole = await shop.request("POST", "customers", json={
        "email": "ole.berg@example.dk", "first_name": "Ole", "last_name": "Berg",
        "billing": {"first_name": "Ole", "last_name": "Berg", "address_1": "Vestergade 1", "city": "Odense C",
                    "postcode": "5000", "country": "DK", "email": "ole.berg@example.dk"}})  # fmt: skip
    await settle()
    await shop.request("PUT", f"products/{beans['id']}", json={"regular_price": "159.00"})  # a new price
    await shop.request("PUT", f"customers/{ole['id']}", json={"billing": {"address_1": "Østergade 9"}})
    await settle()
    v = CatalogVerdict()
    store = stack.dyn.store
    for sku, want in (("BONNE-ETH", _net("159.00", "reduced-rate")), ("APRON-S", _net("250.00")),
                      ("APRON-M", _net("250.00"))):  # fmt: skip
        row = store.find("product", "product_id_", sku)
        got = row["price"] if row else None
        (v.rows if got == want else v.wrong).append(f"product {sku}: {got} in Dynaccount (expected {want} excl. VAT)")
    debtors = store.where("debtor", "email", "ole.berg@example.dk")
    address = debtors[0]["address"] if len(debtors) == 1 else None
    line = f"debtor for ole.berg@example.dk: {len(debtors)} found, address {address!r}"
    (v.rows if address == "Østergade 9" else v.wrong).append(line)
    return v


def print_catalog(v: CatalogVerdict) -> None:
    for row in v.rows:
        print(f"demo: catalog: {row}")
    for row in v.wrong:
        print(f"demo: catalog WRONG: {row}")
