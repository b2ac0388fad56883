"""End-to-end fixtures: both sandboxes and the agent on loopback, driven by a manual clock."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from agent.app import JOURNAL
from agent.clock import ManualClock
from agent.sandbox.demo import Stack, demo_stack, place_orders, refund_some
from agent.sandbox.dynaccount.faults import FaultConfig

Drive = Callable[[], Awaitable[int]]


async def drive(stack: Stack, clock: ManualClock, *, rounds: int = 400) -> int:
    """Run the worker until nothing is pending: no sleeping, the clock is stepped past each backoff."""
    processed = 0
    for _ in range(rounds):
        await stack.woo.wait_idle()
        processed += await stack.services.worker.run_once()
        counts = await stack.app[JOURNAL].counts()
        if counts.work["pending"] == 0 and counts.work["running"] == 0:
            return processed
        # past the longest backoff, or to the next retry on the slow schedule
        due = await stack.app[JOURNAL].next_due_at()
        clock.advance(max(stack.config.worker.backoff_cap_seconds, (due or 0.0) - clock.now()) + 1)
    raise AssertionError("work did not settle")


async def booked_and_credited(stack: Stack, clock: ManualClock) -> list[int]:
    """Six orders booked, then two of them refunded (a line, an amount) and credited: the books a lost
    journal is tested against."""
    ids = await place_orders(stack, 6)
    await drive(stack, clock)
    await refund_some(stack, ids, {1: "line", 4: "amount"})
    await drive(stack, clock)
    return ids


@pytest.fixture
def make_stack(tmp_path: Path) -> Callable[..., Any]:
    def make(faults: FaultConfig | None = None, *, load_references: bool = True, **overrides: dict[str, Any]) -> Any:
        """``load_references=False``: the reference index stays incomplete (as while it loads)."""
        clock = ManualClock()
        return clock, demo_stack(tmp_path / "stack", faults=faults, delivery_delay=0.0, clock=clock, autostart=False,
                                 overrides=overrides, load_references=load_references)

    return make


@pytest.fixture
async def stack(make_stack: Callable[..., Any]) -> AsyncIterator[tuple[Stack, ManualClock]]:
    clock, ctx = make_stack()
    async with ctx as s:
        yield s, clock
