"""The journal: the agent's single source of truth and the only package with SQL.

One module per concern over one shared :class:`~agent.journal.db.Database` handle: ``deliveries``
(group commit), ``work`` (work items and the one re-open rule), ``links`` (links, intents and the
per-order read), ``audit`` (snapshots and events), ``kv``. Another room adds its own module the same
way: a class that takes ``journal.db`` and writes through ``db.transaction()``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from agent.clock import Clock, SystemClock
from agent.journal.audit import AuditJournal
from agent.journal.db import Database, Synchronous, migrate, migrations
from agent.journal.deliveries import DeliveryJournal
from agent.journal.kv import ValueJournal
from agent.journal.links import LinkJournal
from agent.journal.types import (
    WORK_STATES,
    Counts,
    Delivery,
    Event,
    Fingerprint,
    Intent,
    Link,
    NewDelivery,
    OrderFacts,
    Recorded,
    WorkItem,
)
from agent.journal.work import CHANGED, WorkJournal


class Journal(DeliveryJournal, WorkJournal, LinkJournal, AuditJournal, ValueJournal):
    def __init__(self, db: Database, batch_max: int) -> None:
        self.db = db
        self._batch_max = batch_max
        self._queue = []
        self._writer = None
        self._closed = False

    @classmethod
    async def open(
        cls,
        path: Path | str,
        *,
        synchronous: Synchronous = "FULL",
        clock: Clock | None = None,
        batch_max: int = 512,
    ) -> Journal:
        db = await Database.open(path, synchronous=synchronous, clock=clock or SystemClock())
        return cls(db, batch_max)

    async def close(self) -> None:
        self._closed = True
        if self._writer is not None:
            # Let acknowledged-to-be work finish: the writer drains the queue before it exits.
            await asyncio.shield(self._writer)
        await self.db.close()


__all__ = [
    "CHANGED", "WORK_STATES", "Counts", "Database", "Delivery", "Event", "Fingerprint", "Intent", "Journal", "Link",
    "NewDelivery", "OrderFacts", "Recorded", "Synchronous", "WorkItem", "migrate", "migrations",
]  # fmt: skip
