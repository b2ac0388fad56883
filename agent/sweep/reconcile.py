"""Reconcile orders: ``GET /orders?modified_after=…`` with an overlap window (WooCommerce's filter is
exclusive and has second resolution); each order found becomes due work. An order whose delivery
was lost, merged or never sent (disabled webhook) is found here."""

from __future__ import annotations

from pydantic import ValidationError

from agent.clock import Clock, iso
from agent.journal import CHANGED, Journal
from agent.sweep.jobs import JobStatus
from agent.woo.client import WooClient
from agent.woo.fingerprint import order_fingerprint
from agent.woo.models import Order

CURSOR = "sweep.orders.modified_after"


class ReconcileOrders:
    name = "reconcile_orders"
    system = "woocommerce"

    def __init__(self, journal: Journal, woo: WooClient, clock: Clock, *, overlap: float, lookback: float) -> None:
        self._journal = journal
        self._woo = woo
        self._clock = clock
        self._overlap = overlap
        self._lookback = lookback
        self.status = JobStatus()
        self.orders_hinted = 0

    async def run(self) -> int:
        now = self._clock.now()
        cursor = await self._journal.get_value(CURSOR)
        since = float(cursor) - self._overlap if cursor else now - self._lookback
        count, unusable = 0, 0
        async for record in self._woo.order_records(modified_after=iso(since).rstrip("Z"), dates_are_gmt=True,
                                                    orderby="modified", order="asc"):  # fmt: skip
            order_id = record.get("id") if isinstance(record, dict) else None
            if not isinstance(order_id, int) or isinstance(order_id, bool) or not 0 < order_id < 2**63:
                unusable += 1  # no usable id: nothing to attach it to; counted in the job's error
                continue
            try:
                order = Order.model_validate(record)
            except ValidationError:
                # A malformed record (no status…) is queued once: the worker fails it with its reason, visibly.
                if await self._malformed(order_id):
                    count += 1
                continue
            # The overlap window brings back orders already handled in this state: the journal's one
            # re-open rule compares what matters (the fingerprint), not date_modified's whole seconds.
            if await self._journal.hint_work(f"order:{order.id}", fingerprint=order_fingerprint(order)):
                count += 1
        await self._journal.set_value(CURSOR, repr(now))
        self.orders_hinted += count
        if unusable:
            raise ValueError(f"{unusable} order record(s) from GET /orders have no usable id")
        return count

    async def _malformed(self, order_id: int) -> bool:
        """Queue an order whose record does not read as an order, unless it already failed (with that reason)."""
        key = f"order:{order_id}"
        item = await self._journal.get_work(key)
        if item is not None and item.state == "failed":
            return False
        return await self._journal.hint_work(key, fingerprint=CHANGED)
