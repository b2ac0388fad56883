"""The stock room's SQL: per-SKU memory of Dynaccount's value and of the agent's last write.

A class over the journal's :class:`~agent.journal.db.Database` handle, like the journal's own modules:
it writes through ``db.transaction()`` (``BEGIN IMMEDIATE … COMMIT`` under the one write lock) and reads
through ``db.read()``, so the journal stays the only owner of the database and every write here is whole.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from agent.journal.db import Database

if TYPE_CHECKING:
    from agent.journal import Journal

LAST_RUN = "stock.last_run"


@dataclass(frozen=True)
class Memory:
    """What the journal remembers of one SKU from the previous runs (the diff's input)."""

    sku: str
    dyn_qty: str | None
    dyn_time: str | None
    written_qty: int | None
    state: str
    own_sold: int | None = None  # units of this SKU sold and not booked when last decided


class SkuOutcome(Protocol):
    """One SKU's outcome of a run (``agent.stock.diff.SkuResult``), as far as the journal keeps it."""

    @property
    def sku(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def quantity(self) -> Decimal | None: ...
    @property
    def time(self) -> str: ...
    @property
    def shop_id(self) -> int | None: ...
    @property
    def parent_id(self) -> int | None: ...
    @property
    def owner_id(self) -> int | None: ...
    @property
    def shop_qty(self) -> int | None: ...
    @property
    def write_qty(self) -> int | None: ...
    @property
    def sold(self) -> int: ...
    @property
    def own_sold(self) -> int: ...


@dataclass(frozen=True)
class UnbookedOrder:
    order: dict[str, Any]  # the latest snapshot
    invoice_id: int | None  # its invoice in Dynaccount, not booked as far as the journal knows


@dataclass(frozen=True)
class StockRow:
    sku: str
    dyn_qty: str | None
    dyn_time: str | None
    shop_id: int | None
    parent_id: int | None
    owner_id: int | None
    shop_qty: int | None
    target_qty: int | None
    sold_qty: int | None
    written_qty: int | None
    written_at: float | None
    echo_pending: bool
    state: str
    reason: str | None
    updated_at: float


class StockJournal:
    def __init__(self, journal: Journal) -> None:
        self._journal = journal  # for its small named values (the last run's summary)
        self._db: Database = journal.db

    def _now(self) -> float:
        return self._db.clock.now()

    async def memory(self) -> dict[str, Memory]:
        rows = await self._db.read(
            "SELECT sku, dyn_qty, dyn_time, written_qty, state, own_sold FROM stock_items")
        return {r[0]: Memory(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows}

    async def record(self, results: Sequence[SkuOutcome], written: Iterable[int] = ()) -> None:
        """Keep every SKU's outcome; ``written`` are the owner ids WooCommerce confirmed in this run."""
        now, wrote = self._now(), set(written)
        rows = []
        for r in results:
            done = r.owner_id in wrote and r.write_qty is not None
            rows.append((r.sku, None if r.quantity is None else str(r.quantity), r.time, r.shop_id, r.parent_id,
                         r.owner_id, r.write_qty if done else r.shop_qty, r.write_qty, r.sold,
                         r.write_qty if done else None, now if done else None, r.state, r.reason, now, r.own_sold))
        async with self._db.transaction() as conn:
            await conn.executemany(
                "INSERT INTO stock_items (sku, dyn_qty, dyn_time, shop_id, parent_id, owner_id, shop_qty,"
                " target_qty, sold_qty, written_qty, written_at, state, reason, updated_at, own_sold)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (sku) DO UPDATE SET"
                " dyn_qty = excluded.dyn_qty, dyn_time = excluded.dyn_time,"
                " shop_id = COALESCE(excluded.shop_id, shop_id), parent_id = COALESCE(excluded.parent_id, parent_id),"
                " owner_id = COALESCE(excluded.owner_id, owner_id), shop_qty = COALESCE(excluded.shop_qty, shop_qty),"
                " target_qty = excluded.target_qty, sold_qty = excluded.sold_qty, own_sold = excluded.own_sold,"
                " written_qty = COALESCE(excluded.written_qty, written_qty),"
                " written_at = COALESCE(excluded.written_at, written_at),"
                " state = excluded.state, reason = excluded.reason, updated_at = excluded.updated_at",
                rows,
            )

    async def expect_echo(self, results: Sequence[SkuOutcome], owner_ids: Iterable[int]) -> None:
        """Before a write goes out: its ``product.updated`` may arrive before the write call returns."""
        now, owners = self._now(), set(owner_ids)
        rows = [(r.sku, r.owner_id, r.write_qty, now) for r in results if r.owner_id in owners]
        async with self._db.transaction() as conn:
            await conn.executemany(
                "INSERT INTO stock_items (sku, owner_id, echo_qty, echo_pending, state, updated_at)"
                " VALUES (?,?,?,1,'pending',?) ON CONFLICT (sku) DO UPDATE SET owner_id = excluded.owner_id,"
                " echo_qty = excluded.echo_qty, echo_pending = 1", rows)

    async def drop_echo(self, owner_ids: Iterable[int]) -> None:
        """The write failed: no echo will come."""
        async with self._db.transaction() as conn:
            await conn.executemany("UPDATE stock_items SET echo_pending = 0 WHERE owner_id = ?",
                                   [(o,) for o in owner_ids])

    async def take_echo(self, owner_id: int, quantity: int | None) -> bool:
        """True (once) when a ``product.updated`` for ``owner_id`` shows exactly what the agent wrote."""
        if quantity is None:
            return False
        async with self._db.transaction() as conn:
            cur = await conn.execute(
                "UPDATE stock_items SET echo_pending = 0, shop_qty = ? WHERE owner_id = ? AND echo_pending = 1"
                " AND echo_qty = ?", (quantity, owner_id, quantity))
            return bool(cur.rowcount)

    async def keeps(self, item_id: int) -> bool:
        """Whether the agent keeps stock for this shop item (it, or the item it writes stock on)."""
        rows = await self._db.read(
            "SELECT 1 FROM stock_items WHERE (owner_id = ? OR shop_id = ?) AND target_qty IS NOT NULL LIMIT 1",
            (item_id, item_id))
        return bool(rows)

    async def by_owner(self, owner_id: int) -> list[StockRow]:
        rows = await self._db.read(
            "SELECT * FROM stock_items WHERE owner_id = ? OR shop_id = ? ORDER BY sku", (owner_id, owner_id))
        return [_row(r) for r in rows]

    async def disagree(self, sku: str, shop_qty: int | None, reason: str) -> None:
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE stock_items SET shop_qty = ?, state = 'disagrees', reason = ?, updated_at = ? WHERE sku = ?",
                (shop_qty, reason, self._now(), sku))

    async def agree(self, sku: str, shop_qty: int | None) -> None:
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE stock_items SET shop_qty = ?, state = CASE WHEN state = 'disagrees' THEN 'ok' ELSE state"
                " END, updated_at = ? WHERE sku = ?", (shop_qty, self._now(), sku))

    async def items(self, *, state: str | None = None, limit: int = 500, sku: str | None = None) -> list[StockRow]:
        where, args = "", ()  # type: tuple[str, tuple[Any, ...]]
        if sku is not None:
            where, args = "WHERE sku = ?", (sku,)
        elif state is not None:
            where, args = "WHERE state = ?", (state,)
        rows = await self._db.read(
            f"SELECT * FROM stock_items {where} ORDER BY CASE state WHEN 'error' THEN 0 WHEN 'disagrees' THEN 1"
            f" ELSE 2 END, sku LIMIT ?", (*args, limit))
        return [_row(r) for r in rows]

    async def counts(self) -> dict[str, int]:
        rows = await self._db.read("SELECT state, COUNT(*) FROM stock_items GROUP BY state")
        return {str(r[0]): int(r[1]) for r in rows}

    async def unbooked_orders(self) -> list[UnbookedOrder]:
        """The latest snapshot of every order whose link does not say booked (their stock left the shop;
        Dynaccount's moves on booking), with the id of its unbooked invoice where one exists: Dynaccount may
        have booked that one already (the link is written after the booking call, or a human booked the
        draft), which only Dynaccount can say. Walks the order snapshots by their index."""
        rows = await self._db.read(
            "SELECT s.resource, l.dyn_id FROM snapshots s"
            " LEFT JOIN links l ON l.kind = 'order' AND l.woo_id = substr(s.work_key, 7)"
            " WHERE s.id IN (SELECT MAX(id) FROM snapshots WHERE work_key >= 'order:' AND work_key < 'order;'"
            "                GROUP BY work_key)"
            " AND (l.state IS NULL OR l.state != 'booked')")
        out = []
        for resource, dyn_id in rows:
            order = json.loads(resource)
            if isinstance(order, dict):
                out.append(UnbookedOrder(order, int(dyn_id) if dyn_id else None))
        return out

    async def save_run(self, summary: dict[str, Any]) -> None:
        await self._journal.set_value(LAST_RUN, json.dumps(summary))

    async def last_run(self) -> dict[str, Any] | None:
        raw = await self._journal.get_value(LAST_RUN)
        return json.loads(raw) if raw else None


def _row(r: Any) -> StockRow:
    return StockRow(
        sku=r["sku"], dyn_qty=r["dyn_qty"], dyn_time=r["dyn_time"], shop_id=r["shop_id"], parent_id=r["parent_id"],
        owner_id=r["owner_id"], shop_qty=r["shop_qty"],
        target_qty=r["target_qty"], sold_qty=r["sold_qty"], written_qty=r["written_qty"], written_at=r["written_at"],
        echo_pending=bool(r["echo_pending"]), state=r["state"], reason=r["reason"], updated_at=r["updated_at"],
    )
