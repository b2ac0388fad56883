"""The demo's stock part: Dynaccount's stock flows back into the shop, and an independent check of it.

The check does not trust the agent's journal: it recomputes, from Dynaccount's products and the shop's own
orders, what every stock-managing shop item must show — Dynaccount's stock, less what the shop sold on
orders whose invoice Dynaccount has not booked yet (line meta ``_reduced_stock``), never below 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from agent.sandbox.dynaccount.seed import set_stock
from agent.sandbox.woo.orderjson import render_order
from agent.stock.diff import sold_not_booked
from agent.web.stock import STOCK

if TYPE_CHECKING:
    from agent.sandbox.demo import Stack

GOODS_RECEIVED = {"KRUS-001": 24, "TSHIRT-M": 6}  # a supplier delivery booked in Dynaccount during the demo


@dataclass
class StockVerdict:
    checked: int = 0
    rows: list[tuple[str, Decimal, int, int | None]] = field(default_factory=list)  # sku, dynaccount, want, shop
    mismatched: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.checked > 0 and not self.mismatched


async def receive_goods(stack: Stack) -> None:
    """Goods arrive in Dynaccount (its control API), then the stock job runs as the button would run it."""
    store = stack.dyn.store
    for sku, units in GOODS_RECEIVED.items():
        row = store.find("product", "product_id_", sku)
        if row is not None:
            set_stock(store, sku, row["in_stock"] + units)
    await stack.app[STOCK].sync(reason="demo: goods received")


def _unbooked_orders(stack: Stack) -> list[dict[str, object]]:
    invoices = stack.dyn.store.tables["debtor_invoice"].values()
    booked = {str(r.get("requisition")) for r in invoices if r.get("is_booked")}
    state = stack.woo.state
    return [render_order(o, state.shop, state.home) for o in state.orders.values() if f"woo/order-{o.id}" not in booked]


def verify_stock(stack: Stack) -> StockVerdict:
    verdict = StockVerdict()
    dyn = {p["product_id_"]: p["in_stock"] for p in stack.dyn.store.tables["product"].values() if p.get("is_stocked")}
    sold = sold_not_booked(_unbooked_orders(stack))
    state = stack.woo.state
    owners: dict[int, list[str]] = {}
    for item in state.items.values():
        sku = item.product.sku
        if sku in dyn and state.managing_stock(item) is not False:
            owners.setdefault(state.stock_owner(item.id).id, []).append(sku)
    for owner_id, skus in sorted(owners.items()):
        have = sum((dyn[s] for s in skus), Decimal(0))
        want = max(0, int(have) - sum(sold.get(s, 0) for s in skus))
        shop = state.items[owner_id].stock_quantity
        verdict.checked += 1
        verdict.rows.append(("+".join(skus), have, want, shop))
        if shop != want:
            verdict.mismatched.append(f"{'+'.join(skus)}: shop {shop}, expected {want} (Dynaccount {have})")
    return verdict


def print_stock(v: StockVerdict) -> None:
    print("stock (Dynaccount is master):")
    for sku, have, want, shop in v.rows:
        print(f"  {sku:<20} Dynaccount {have:>5}  shop should show {want:>4}  shop shows {shop}")
    for line in v.mismatched:
        print(f"STOCK MISMATCH {line}")
    print("stock result:        " + ("the shop follows Dynaccount" if v.ok else "PROBLEMS (see above)"))
