"""Prune the journal: snapshots and events grow with every pass over every order; keep ``keep_days``.

Runs with the sweep's other jobs but at most once an hour. Deliveries and links are never pruned
(``AuditJournal.prune`` also keeps the latest snapshot of each item and all of unfinished work).
"""

from __future__ import annotations

from agent.clock import Clock
from agent.journal import Journal
from agent.sweep.jobs import JobStatus

EVERY = 3600.0
DAY = 86400.0


class PruneJournal:
    name = "prune_journal"
    system = ""  # calls no outside system

    def __init__(self, journal: Journal, clock: Clock, *, keep_days: float) -> None:
        self._journal = journal
        self._clock = clock
        self._keep = keep_days * DAY
        self._last: float | None = None
        self.status = JobStatus()
        self.pruned = (0, 0)  # snapshots, events deleted by the last pruning

    async def run(self) -> int:
        now = self._clock.now()
        if self._keep <= 0 or (self._last is not None and now - self._last < EVERY):
            return 0
        self._last = now
        self.pruned = await self._journal.prune(now - self._keep)
        return 0  # re-opens no work
