"""The operations room's SQL (metrics, systemd status): read-only questions over the journal's tables.

A class wrapping the :class:`~agent.journal.Journal` so the journal stays the one place holding the
connection; every query here is answered from an index.
"""

from __future__ import annotations

from agent.journal import Journal
from agent.journal.types import Event


class OpsJournal:
    def __init__(self, journal: Journal) -> None:
        self._journal = journal

    async def oldest_pending_since(self) -> float | None:
        """When the longest-waiting pending item became pending (partial index work_items_pending_since)."""
        rows = await self._journal.db.read("SELECT MIN(pending_since) FROM work_items WHERE state = 'pending'")
        value = next(iter(rows))[0] if rows else None
        return float(value) if value is not None else None

    async def webhook_events(self, limit: int = 10) -> list[Event]:
        """What the webhook-health job changed (re-activated, created), newest first: kept, not only logged."""
        rows = await self._journal.db.read(
            "SELECT * FROM events WHERE work_key IS NULL AND message LIKE 'webhook %' ORDER BY id DESC LIMIT ?",
            (limit,),
        )
        return [Event(id=r["id"], at=r["at"], work_key=None, level=r["level"], message=r["message"], data=None)
                for r in rows]  # fmt: skip
