"""A file order never calls WooCommerce, so its success must not end a WooCommerce outage."""

from __future__ import annotations

from agent.clock import ManualClock
from agent.health.systems import DOWN_AFTER_FAILURES, SystemHealth
from agent.journal import WorkItem
from agent.outcomes import Outcome
from agent.woo.errors import WooConnectionError


async def test_a_booked_file_order_does_not_end_a_woocommerce_outage() -> None:
    health = SystemHealth(ManualClock(), grace_seconds=300)
    for _ in range(DOWN_AFTER_FAILURES):
        health.failed(WooConnectionError("refused"))

    async def booked(item: WorkItem) -> Outcome:
        return Outcome("done", "invoice 7 booked")

    item = WorkItem("file:pos:1", "file", "pos:1", "running", 1, 0, 0.0, 0.0, None, None)
    await health.watch(booked, loads_from_woo=False)(item)
    assert [p.key for p in await health.problems()] == ["woocommerce-down"]
    await health.watch(booked)(WorkItem("order:1", "order", "1", "running", 1, 0, 0.0, 0.0, None, None))
    assert await health.problems() == []
