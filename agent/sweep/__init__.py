"""Webhooks are hints: the sweep finds what they missed, in small jobs on one timer.

* ``reconcile`` (REST poll for orders modified since the last pass),
* ``webhooks`` (the agent's webhooks exist and are active),
* ``drafts`` (a draft invoice a human booked in Dynaccount re-queues its order),
* ``prune`` (snapshots and events older than ``[journal] keep_days``, at most once an hour).

Each job keeps its own last run and last error; one failing does not stop the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Callable
from typing import Any

from agent.clock import Clock, iso
from agent.dynaccount.client import DynaccountClient
from agent.dynaccount.errors import DynaccountError
from agent.journal import Journal
from agent.sweep.drafts import DraftsWatch
from agent.sweep.jobs import Job, JobStatus
from agent.sweep.prune import PruneJournal
from agent.sweep.reconcile import CURSOR, ReconcileOrders
from agent.sweep.webhooks import TOPICS, WebhookHealth, WebhookReport
from agent.woo.client import WooClient
from agent.woo.errors import WooError

log = logging.getLogger(__name__)

__all__ = ["CURSOR", "TOPICS", "JobStatus", "Sweep", "WebhookReport"]


class Sweep:
    def __init__(self, journal: Journal, woo: WooClient, dyn: DynaccountClient, clock: Clock, *, interval: float,
                 overlap: float, lookback: float, webhook_url: str | None, webhook_secret: str,
                 keep_days: float = 0.0, topics: tuple[str, ...] = TOPICS) -> None:  # fmt: skip
        self._clock = clock
        self._interval = interval
        self.reconcile = ReconcileOrders(journal, woo, clock, overlap=overlap, lookback=lookback)
        self.webhooks = WebhookHealth(journal, woo, webhook_url=webhook_url, webhook_secret=webhook_secret,
                                      topics=topics)
        self.drafts = DraftsWatch(journal, dyn)
        self.prune = PruneJournal(journal, clock, keep_days=keep_days)
        self._task: asyncio.Task[None] | None = None
        # what the jobs' calls found about the outside systems (the composition root wires SystemHealth)
        self.on_error: Callable[[BaseException], None] | None = None
        self.on_reached: Callable[[str], None] | None = None

    @property
    def jobs(self) -> tuple[Job, ...]:
        return (self.reconcile, self.webhooks, self.drafts, self.prune)

    async def run_once(self) -> int:
        """One pass of every job; returns how many orders the reconciliation re-opened."""
        counts = [await self._run(job) for job in self.jobs]
        return counts[0]

    async def _run(self, job: Job) -> int:
        now = self._clock.now()
        try:
            count = await job.run()
        except Exception as exc:  # any error ends this pass of this job only; it runs again next time
            if job.status.last_error is None:
                if isinstance(exc, WooError | DynaccountError | OSError | sqlite3.Error):
                    log.warning("sweep job %s failed: %s", job.name, exc)
                else:
                    log.exception("sweep job %s failed", job.name)
            job.status.errors += 1
            job.status.last_error, job.status.last_error_at = f"{type(exc).__name__}: {exc}", now
            if self.on_error is not None:
                self.on_error(exc)
            return 0
        job.status.last_run, job.status.last_error = now, None
        if self.on_reached is not None and job.system:
            self.on_reached(job.system)
        return count

    async def heal_webhooks(self) -> WebhookReport:
        return await self.webhooks.heal()

    def status(self) -> dict[str, Any]:
        """For /api/status: each job's last run and last error, and what the jobs found."""
        jobs = {job.name: {"last_run": iso(job.status.last_run) if job.status.last_run else None,
                           "last_error": job.status.last_error,
                           "last_error_at": iso(job.status.last_error_at)
                           if job.status.last_error and job.status.last_error_at is not None else None}
                for job in self.jobs}  # fmt: skip
        runs = [job.status.last_run for job in self.jobs if job.status.last_run]
        errors = [f"{job.name}: {job.status.last_error}" for job in self.jobs if job.status.last_error]
        return {
            "last_run": iso(max(runs)) if runs else None, "last_error": "; ".join(errors) or None,
            "orders_hinted": self.reconcile.orders_hinted, "webhooks": vars(self.webhooks.report), "jobs": jobs,
        }  # fmt: skip

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="sweep")

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:  # _run already keeps each job's errors; this is a last guard for the schedule
                log.exception("sweep pass failed")
            await asyncio.sleep(self._interval)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
