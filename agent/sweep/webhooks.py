"""Webhook health: every topic the agent needs has an active webhook pointing at the agent;
disabled or paused ones are re-activated, missing ones created (with the agent's secret, which the
REST API never shows back)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from agent.journal import Journal
from agent.sweep.jobs import JobStatus
from agent.woo.client import WooClient

TOPICS = ("order.created", "order.updated", "order.restored", "action.woocommerce_order_refunded")


@dataclass
class WebhookReport:
    created: list[str] = field(default_factory=list)
    reactivated: list[str] = field(default_factory=list)
    healthy: list[str] = field(default_factory=list)


class WebhookHealth:
    name = "webhook_health"
    system = "woocommerce"

    def __init__(self, journal: Journal, woo: WooClient, *, webhook_url: str | None, webhook_secret: str,
                 topics: tuple[str, ...] = TOPICS) -> None:
        self._journal = journal
        self._woo = woo
        self._url = webhook_url
        self._secret = webhook_secret
        self._topics = topics
        self._heal_mutex = asyncio.Lock()  # two concurrent heals would both create the missing webhooks
        self.status = JobStatus()
        self.report = WebhookReport()

    async def run(self) -> int:
        if self._url:
            self.report = await self.heal()
        return 0

    async def heal(self) -> WebhookReport:
        async with self._heal_mutex:
            return await self._heal()

    async def _heal(self) -> WebhookReport:
        assert self._url is not None
        report = WebhookReport()
        ours = [w for w in await self._woo.list_webhooks() if w.delivery_url == self._url]
        for topic in self._topics:
            found = [w for w in ours if w.topic == topic]
            if any(w.status == "active" for w in found):
                report.healthy.append(topic)
            elif found:
                # failure_count survives re-activation: the next failed delivery disables it again,
                # so the status page keeps showing the webhook's history.
                await self._woo.update_webhook(found[0].id, status="active")
                report.reactivated.append(topic)
                await self._journal.add_event(None, f"webhook {topic} was {found[0].status}: re-activated",
                                              level="warning")  # fmt: skip
            else:
                await self._woo.create_webhook(topic=topic, delivery_url=self._url, secret=self._secret)
                report.created.append(topic)
                await self._journal.add_event(None, f"webhook {topic} created -> {self._url}")
        return report
