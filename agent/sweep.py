"""Webhooks are hints: the sweep finds what they missed and keeps the agent's webhooks alive.

* Reconciliation: ``GET /orders?modified_after=…`` with an overlap window (WooCommerce's filter is
  exclusive and has second resolution), each order found becomes due work. An order whose delivery
  was lost, merged or never sent (disabled webhook) is found here.
* Webhook health: every topic the agent needs has an active webhook pointing at the agent;
  disabled or paused ones are re-activated, missing ones created (with the agent's secret, which
  the REST API never shows back).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from agent.clock import Clock, iso
from agent.journal import Journal
from agent.woo.client import WooClient
from agent.woo.errors import WooError

log = logging.getLogger(__name__)

TOPICS = ("order.created", "order.updated", "order.restored", "action.woocommerce_order_refunded")
CURSOR = "sweep.orders.modified_after"


@dataclass
class WebhookReport:
    created: list[str] = field(default_factory=list)
    reactivated: list[str] = field(default_factory=list)
    healthy: list[str] = field(default_factory=list)


@dataclass
class SweepStatus:
    last_run: float | None = None
    last_error: str | None = None
    orders_hinted: int = 0
    webhooks: WebhookReport = field(default_factory=WebhookReport)


class Sweep:
    def __init__(self, journal: Journal, woo: WooClient, clock: Clock, *, interval: float, overlap: float,
                 lookback: float, webhook_url: str | None, webhook_secret: str,
                 topics: tuple[str, ...] = TOPICS) -> None:  # fmt: skip
        self._journal = journal
        self._woo = woo
        self._clock = clock
        self._interval = interval
        self._overlap = overlap
        self._lookback = lookback
        self._webhook_url = webhook_url
        self._secret = webhook_secret
        self._topics = topics
        self._task: asyncio.Task[None] | None = None
        self._heal_lock = asyncio.Lock()  # two concurrent heals would both create the missing webhooks
        self.status = SweepStatus()

    async def run_once(self) -> int:
        """One reconciliation pass (and a webhook check); returns how many orders were hinted."""
        now = self._clock.now()
        cursor = await self._journal.get_value(CURSOR)
        since = float(cursor) - self._overlap if cursor else now - self._lookback
        count = 0
        async for order in self._woo.iter_orders(modified_after=iso(since).rstrip("Z"), dates_are_gmt=True,
                                                 orderby="modified", order="asc"):  # fmt: skip
            if await self._already_seen(order.id, order.date_modified_gmt):
                continue  # the overlap window brings back orders already handled in this state
            await self._journal.hint_work(f"order:{order.id}")
            count += 1
        await self._journal.set_value(CURSOR, repr(now))
        # Draft invoices are booked by a human in Dynaccount, which sends no signal: look again, so
        # refunds waiting for the booking are credited once it happened.
        for link in await self._journal.list_links("order"):
            if link.state == "draft":
                await self._journal.hint_work(f"order:{link.woo_id}")
        if self._webhook_url:
            self.status.webhooks = await self.heal_webhooks()
        self.status.last_run, self.status.last_error = now, None
        self.status.orders_hinted += count
        return count

    async def _already_seen(self, order_id: int, modified: str | None) -> bool:
        key = f"order:{order_id}"
        item = await self._journal.get_work(key)
        if item is None or item.state in ("pending", "running") or modified is None:
            return False
        snapshot = await self._journal.latest_snapshot(key)
        resource = snapshot[0] if snapshot else None
        return isinstance(resource, dict) and resource.get("date_modified_gmt") == modified

    async def heal_webhooks(self) -> WebhookReport:
        async with self._heal_lock:
            return await self._heal_webhooks()

    async def _heal_webhooks(self) -> WebhookReport:
        assert self._webhook_url is not None
        report = WebhookReport()
        ours = [w for w in await self._woo.list_webhooks() if w.delivery_url == self._webhook_url]
        for topic in self._topics:
            found = [w for w in ours if w.topic == topic]
            active = [w for w in found if w.status == "active"]
            if active:
                report.healthy.append(topic)
            elif found:
                # failure_count survives re-activation: the next failed delivery disables it again,
                # so the status page keeps showing the webhook's history.
                await self._woo.update_webhook(found[0].id, status="active")
                report.reactivated.append(topic)
                await self._journal.add_event(None, f"webhook {topic} was {found[0].status}: re-activated",
                                              level="warning")  # fmt: skip
            else:
                await self._woo.create_webhook(topic=topic, delivery_url=self._webhook_url, secret=self._secret)
                report.created.append(topic)
                await self._journal.add_event(None, f"webhook {topic} created -> {self._webhook_url}")
        return report

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="sweep")

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_once()
            except WooError as exc:
                if self.status.last_error is None:
                    log.warning("sweep failed: %s", exc)
                self.status.last_error = str(exc)
            await asyncio.sleep(self._interval)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
