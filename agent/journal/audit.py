"""Snapshots (the WooCommerce state an action was based on, with its plan) and the event timeline."""

from __future__ import annotations

import json
from typing import Any

from agent.journal.db import Database
from agent.journal.types import Event, event_row


class AuditJournal:
    db: Database

    async def save_snapshot(self, work_key: str, resource: Any, plan: Any) -> int:
        now = self.db.clock.now()
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "INSERT INTO snapshots (work_key, taken_at, resource, plan) VALUES (?,?,?,?)",
                (work_key, now, json.dumps(resource, default=str), json.dumps(plan, default=str)),
            )
            return int(cur.lastrowid or 0)

    async def latest_snapshot(self, work_key: str) -> tuple[Any, Any] | None:
        rows = await self.db.read(
            "SELECT resource, plan FROM snapshots WHERE work_key = ? ORDER BY id DESC LIMIT 1", (work_key,)
        )
        if not rows:
            return None
        return json.loads(rows[0][0]), json.loads(rows[0][1]) if rows[0][1] else None

    async def add_event(
        self, work_key: str | None, message: str, *, level: str = "info", data: dict[str, Any] | None = None
    ) -> None:
        now = self.db.clock.now()
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO events (at, work_key, level, message, data) VALUES (?,?,?,?,?)",
                (now, work_key, level, message, json.dumps(data, default=str) if data is not None else None),
            )

    async def list_events(self, work_key: str | None = None, *, limit: int = 200) -> list[Event]:
        where, args = ("WHERE work_key = ?", (work_key,)) if work_key else ("", ())
        rows = await self.db.read(f"SELECT * FROM events {where} ORDER BY id DESC LIMIT ?", (*args, limit))
        return [event_row(r) for r in rows]

    async def prune(self, before: float, *, batch: int = 2000) -> tuple[int, int]:
        """Delete snapshots and events older than ``before``; returns (snapshots, events) deleted.

        Kept whatever their age: the latest snapshot of every key (the page shows the plan acted on)
        and everything of unfinished work. In batches, so intake never waits long for the write lock.
        """
        counts = []
        for table, at, keep in (("snapshots", "taken_at", _KEEP_SNAPSHOT), ("events", "at", "")):
            total = 0
            while True:
                async with self.db.transaction() as conn:
                    cur = await conn.execute(
                        f"DELETE FROM {table} WHERE id IN (SELECT id FROM {table} t WHERE {at} < ? {keep}"
                        f" AND NOT EXISTS ({_OPEN_WORK}) LIMIT ?)",
                        (before, batch),
                    )
                total += cur.rowcount
                if cur.rowcount < batch:
                    break
            counts.append(total)
        return counts[0], counts[1]


# Work not finished: its item (or, for a refund's snapshot, nothing: refunds have no item of their own).
_OPEN_WORK = "SELECT 1 FROM work_items w WHERE w.key = t.work_key AND w.state NOT IN ('done', 'skipped')"
_KEEP_SNAPSHOT = "AND id < (SELECT MAX(id) FROM snapshots s WHERE s.work_key = t.work_key)"
