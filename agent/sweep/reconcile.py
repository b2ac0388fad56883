"""Reconcile orders: ``GET /orders?modified_after=…`` with an overlap window (WooCommerce's filter is
exclusive and has second resolution); each order found becomes due work. An order whose delivery
was lost, merged or never sent (disabled webhook) is found here."""

from __future__ import annotations

from agent.clock import Clock, iso
from agent.journal import Journal
from agent.sweep.jobs import JobStatus
from agent.woo.client import WooClient
from agent.woo.fingerprint import order_fingerprint

CURSOR = "sweep.orders.modified_after"


class ReconcileOrders:
    name = "reconcile_orders"

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
        count = 0
        async for order in self._woo.iter_orders(modified_after=iso(since).rstrip("Z"), dates_are_gmt=True,
                                                 orderby="modified", order="asc"):  # fmt: skip
            # The overlap window brings back orders already handled in this state: the journal's one
            # re-open rule compares what matters (the fingerprint), not date_modified's whole seconds.
            if await self._journal.hint_work(f"order:{order.id}", fingerprint=order_fingerprint(order)):
                count += 1
        await self._journal.set_value(CURSOR, repr(now))
        self.orders_hinted += count
        return count
