"""The stock diff, pure: which Dynaccount products changed, and what to write where in the shop.

No I/O here, so the same functions serve the daemon, ``stock sync --dry-run`` and the benchmark.
Dynaccount is master: the shop is told Dynaccount's number, never the other way round.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, Literal

from agent.journal.stock import Memory
from agent.woo.resources import Product
from agent.woo.stock import StockUpdate

QuantityMode = Literal["in_stock", "available"]
RETRY_STATES = ("error", "pending")  # a SKU that failed, or whose write was cut off, is tried every run
NO_STOCK_TYPES = ("grouped", "external")  # WooCommerce never manages stock for these (spec §4.3)


@dataclass(frozen=True)
class DynStock:
    """One stock-tracked Dynaccount product as the stock room needs it."""

    sku: str
    in_stock: Decimal
    in_order: Decimal = Decimal(0)
    time: str = ""  # time_stock_change as read; "" when Dynaccount gave none


@dataclass(frozen=True)
class Candidate:
    sku: str
    quantity: Decimal  # what the shop should see, before the backorder rule
    time: str


@dataclass(frozen=True)
class SkuResult:
    """The outcome of one SKU in one run, as the journal and the status page keep it."""

    sku: str
    state: str  # ok | error | skipped
    reason: str
    quantity: Decimal | None = None
    time: str = ""
    shop_id: int | None = None
    parent_id: int | None = None
    owner_id: int | None = None
    shop_qty: int | None = None
    write_qty: int | None = None
    sold: int = 0  # units sold in the shop and not yet booked, kept out of write_qty (the stock owner's sum)
    own_sold: int = 0  # of which this SKU's: what the next run compares (:func:`changed`)


@dataclass
class WritePlan:
    updates: list[StockUpdate] = field(default_factory=list)
    results: list[SkuResult] = field(default_factory=list)


def shop_quantity(level: DynStock, mode: QuantityMode) -> Decimal:
    """A-35, in its one place: on hand, or on hand minus what open debtor orders reserve."""
    return level.in_stock - level.in_order if mode == "available" else level.in_stock


def changed(levels: Iterable[DynStock], memory: Mapping[str, Memory], mode: QuantityMode, *,
            full: bool = False, sold: Mapping[str, int] | None = None) -> list[Candidate]:  # fmt: skip
    """Dynaccount products whose stock moved since the last run, or whose last run did not end well.

    ``time_stock_change`` not moving and the same quantity means nothing to do (A-28: Dynaccount has no
    "changed since" filter, so this comparison is the filter). A SKU that failed is retried every run.
    The shop's number is Dynaccount's less ``sold`` (:func:`sold_not_booked`), so a SKU whose sold units
    changed is due too: else a number decided on a journal that lagged (an order heard of late) stays.
    """
    out = []
    for level in levels:
        quantity = shop_quantity(level, mode)
        seen = memory.get(level.sku)
        if (full or seen is None or seen.state in RETRY_STATES or seen.dyn_time != level.time
                or seen.dyn_qty != str(quantity) or (sold is not None
                                                      and (seen.own_sold or 0) != sold.get(level.sku, 0))):
            out.append(Candidate(level.sku, quantity, level.time))
    return out


def sold_not_booked(orders: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Units per SKU the shop took out of its stock for orders whose invoice Dynaccount has not booked yet.

    WooCommerce marks every line it reduced with ``_reduced_stock`` (and removes it when the stock is put
    back on cancel). A refund that restocks lowers ``_reduced_stock`` by the units it put back (and counts
    them in ``_restock_refunded_items``; wc_restock_refunded_items, seen on a real 10.0.2 shop), so
    ``_reduced_stock`` alone is what is still out. Dynaccount only moves when the invoice is booked (A-35),
    so until then these units are gone from the shop but not from Dynaccount.
    """
    units: dict[str, int] = {}
    for order in orders:
        for line in order.get("line_items") or []:
            sku = str(line.get("sku") or "")
            meta = {m.get("key"): m.get("value") for m in line.get("meta_data") or [] if isinstance(m, dict)}
            taken = _int(meta.get("_reduced_stock"))
            if sku and taken:
                units[sku] = units.get(sku, 0) + taken
    return units


def _int(value: Any) -> int:
    try:
        return int(str(value)) if value not in (None, "") else 0
    except ValueError:
        return 0


def whole(quantity: Decimal) -> int | None:
    """WooCommerce stock is whole units (``wc_stock_amount``); anything else is not ours to round."""
    return int(quantity) if quantity == quantity.to_integral_value() else None


def plan_writes(candidates: Sequence[Candidate], shop: Mapping[str, Sequence[Product]],
                quantities: Mapping[str, Decimal], siblings: Mapping[int, Sequence[Product]], *,
                enable: bool = False, sold: Mapping[str, int] | None = None) -> WritePlan:  # fmt: skip
    """Decide, per changed SKU, what to write where; one write per stock owner.

    ``shop`` maps each SKU to the shop items carrying it (from ``GET /products?sku=…``); ``quantities``
    holds every Dynaccount quantity by SKU (needed for a parent whose variations share its stock);
    ``siblings`` the variations of each parent that owns its variations' stock; ``sold`` the units sold in
    the shop and not yet booked in Dynaccount (:func:`sold_not_booked`), which the shop must not get back.
    """
    plan = WritePlan()
    owners: dict[int, StockUpdate] = {}
    for cand in candidates:
        result, update = _one(cand, shop.get(cand.sku, ()), quantities, siblings, enable, sold or {})
        plan.results.append(result)
        if update is not None and update.id not in owners:
            owners[update.id] = update  # written on the owner once, however many SKUs point at it
    plan.updates = list(owners.values())
    return plan


def _one(cand: Candidate, items: Sequence[Product], quantities: Mapping[str, Decimal],
         siblings: Mapping[int, Sequence[Product]], enable: bool,
         sold: Mapping[str, int]) -> tuple[SkuResult, StockUpdate | None]:  # fmt: skip
    base = SkuResult(cand.sku, "error", "", cand.quantity, cand.time, own_sold=sold.get(cand.sku, 0))
    if not items:
        return _with(base, reason="no product or variation in the shop has this SKU"), None
    if len(items) > 1:
        ids = ", ".join(str(i.id) for i in items)
        return _with(base, reason=f"the SKU is on more than one shop item ({ids})"), None
    item = items[0]
    where = _with(base, shop_id=item.id, parent_id=item.parent_id, owner_id=item.stock_owner_id,
                  shop_qty=item.stock_quantity)
    if item.type in NO_STOCK_TYPES:
        return _with(where, state="skipped", reason=f"{item.type} products keep no stock"), None
    if item.manage_stock is False and not enable:
        return _with(where, state="skipped", reason="does not manage stock in the shop (left alone)"), None
    skus = _owner_skus(cand, item, quantities, siblings)
    quantity = sum((quantities.get(s, cand.quantity) for s in skus), Decimal(0))
    units = whole(quantity)
    if units is None:
        return _with(where, reason=f"Dynaccount's quantity {quantity} is not a whole number"), None
    pending = sum(sold.get(s, 0) for s in skus)
    units -= pending
    note = f" ({pending} sold in the shop, not yet booked)" if pending else ""
    if units < 0 and item.backorders == "no":
        note += f" ({units} left; no backorders, so 0)"
        units = 0
    where = _with(where, sold=pending)
    if item.stock_quantity == units and item.manage_stock is not False:
        return _with(where, state="ok", reason="unchanged" + note, write_qty=units), None
    if item.manage_stock == "parent":
        update = StockUpdate(item.parent_id, units, 0, True)
    else:
        update = StockUpdate(item.id, units, item.parent_id, item.manage_stock, enable=item.manage_stock is False)
    return _with(where, state="ok", reason="written" + note, write_qty=units), update


def _owner_skus(cand: Candidate, item: Product, quantities: Mapping[str, Decimal],
                siblings: Mapping[int, Sequence[Product]]) -> list[str]:  # fmt: skip
    """The SKUs whose Dynaccount stock the owner holds: its own; for a parent that keeps its variations'
    stock, the parent's SKU if Dynaccount has one, else every such variation's SKU (their sum)."""
    if item.manage_stock != "parent":
        return [cand.sku]
    family = siblings.get(item.parent_id, ())
    parent_sku = next((p.sku for p in family if p.id == item.parent_id and p.sku), None)
    if parent_sku and parent_sku in quantities:
        return [parent_sku]
    shared = [v.sku for v in family if v.manage_stock == "parent" and v.sku and v.sku in quantities]
    return shared or [cand.sku]


def _with(result: SkuResult, **changes: object) -> SkuResult:
    return replace(result, **changes)  # type: ignore[arg-type]
