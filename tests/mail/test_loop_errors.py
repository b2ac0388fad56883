"""The mail worker's loop outlives a journal error, records it with its time and shows it (issue 11 item 2)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import aiohttp

from agent.clock import ManualClock
from agent.sandbox.demo import Stack

from ..e2e.crashkit import until  # type: ignore[import-not-found]
from .conftest import mail_worker  # type: ignore[import-not-found]
from .smtpkit import mail_settings, smtp_server  # type: ignore[import-not-found]


async def test_mail_loop_survives_a_journal_error(clock: ManualClock,
                                                  mail_stack: Callable[..., AbstractAsyncContextManager[Stack]]) -> None:  # fmt: skip
    async with smtp_server() as server, mail_stack(clock, mail=mail_settings(server.port, poll_seconds=0.01)) as stack:
        worker = mail_worker(stack)
        real_due, failures = worker.outbox.due, [sqlite3.OperationalError("database is locked")]
        rounds: list[int] = []

        async def due(limit: int) -> Any:
            rounds.append(limit)
            if failures:
                raise failures.pop()
            return await real_due(limit)

        worker.outbox.due = due  # type: ignore[method-assign]
        worker.start()
        await until(lambda: worker.last_error_at is not None, timeout=10, what="the recorded mail loop error")
        await until(lambda: len(rounds) >= 3, timeout=10, what="more rounds after the error")
        assert worker.last_error_at == clock.now() and "database is locked" in (worker.last_error or "")
        async with aiohttp.ClientSession() as session, session.get(f"{stack.agent_url}/mail") as resp:
            page = await resp.text()
        assert "database is locked" in page and "Last error at" in page
        await worker.stop()
