"""Fixtures for the mail tests: both sandboxes, the agent on a manual clock, a real SMTP server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest

from agent.app import JOURNAL
from agent.clock import ManualClock
from agent.mail.app import MAIL
from agent.mail.worker import MailWorker
from agent.sandbox.demo import Stack, demo_stack


def mail_worker(stack: Stack) -> MailWorker:
    worker = stack.app[MAIL].worker
    assert worker is not None, "mail is not configured in this stack"
    return worker


async def drive(stack: Stack, clock: ManualClock, *, rounds: int = 200) -> None:
    """Run the order worker until nothing is pending (stepping the clock past backoffs), then the mail worker."""
    for _ in range(rounds):
        await stack.woo.wait_idle()
        await stack.services.worker.run_once()
        counts = await stack.app[JOURNAL].counts()
        if counts.work["pending"] == 0 and counts.work["running"] == 0:
            break
        clock.advance(stack.config.worker.backoff_cap_seconds + 1)
    else:
        raise AssertionError("work did not settle")
    await mail_worker(stack).run_once()


@pytest.fixture
def mail_stack(tmp_path: Path) -> Callable[..., AbstractAsyncContextManager[Stack]]:
    def make(clock: ManualClock, **overrides: dict[str, Any]) -> AbstractAsyncContextManager[Stack]:
        return demo_stack(tmp_path / "stack", delivery_delay=0.0, clock=clock, autostart=False, overrides=overrides)

    return make


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


__all__ = ["AsyncIterator", "drive", "mail_worker"]
