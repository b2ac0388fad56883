"""Work items: one per resource, claimed by the worker, finished with a state and a reason.

``REOPEN`` is the one home of the re-open rule, used for deliveries, sweep hints, replays and
retries alike: many hints collapse into one item; a running item keeps running but its generation
moves on, so the worker that finishes it sees the resource changed meanwhile and leaves it pending.
"""

from __future__ import annotations

from collections.abc import Sequence

import aiosqlite

from agent.journal.db import Database
from agent.journal.types import WorkItem, work_row

REOPEN = (
    "INSERT INTO work_items (key, kind, resource_id, state, due_at, created_at, updated_at, last_delivery,"
    " pending_since) VALUES {values}"
    " ON CONFLICT(key) DO UPDATE SET"
    "  generation = generation + 1,"
    # how long work has waited counts from when it last became pending, not from its last attempt
    "  pending_since = CASE WHEN state IN ('pending', 'running') THEN pending_since ELSE excluded.pending_since END,"
    "  state = CASE WHEN state = 'running' THEN 'running' ELSE 'pending' END,"
    "  attempts = CASE WHEN state IN ('pending', 'running') THEN attempts ELSE 0 END,"
    "  due_at = CASE WHEN state = 'running' THEN due_at ELSE excluded.due_at END,"
    "  updated_at = excluded.updated_at,"
    "  last_delivery = COALESCE(excluded.last_delivery, last_delivery)"
)


async def reopen(conn: aiosqlite.Connection, hints: Sequence[tuple[str, float, float, int | None]]) -> None:
    """Create or re-open the work items named by ``(key, due_at, now, delivery id)`` hints, in order,
    with one statement (a batch of deliveries costs one round trip)."""
    if not hints:
        return
    params: list[object] = []
    for key, due, now, delivery in hints:
        kind, _, resource_id = key.partition(":")
        params += [key, kind, resource_id, "pending", due, now, now, delivery, now]
    values = ",".join(["(?,?,?,?,?,?,?,?,?)"] * len(hints))
    await conn.execute(REOPEN.format(values=values), params)


class WorkJournal:
    db: Database

    async def hint_work(self, key: str, *, delay: float = 0.0) -> None:
        """Mark a resource as changed without a delivery (the sweep and replay use this)."""
        now = self.db.clock.now()
        async with self.db.transaction() as conn:
            await reopen(conn, [(key, now + delay, now, None)])

    async def reset_running(self) -> int:
        """After a crash nothing is running: put interrupted items back, due at once."""
        now = self.db.clock.now()
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "UPDATE work_items SET state = 'pending', due_at = ?, updated_at = ? WHERE state = 'running'",
                (now, now),
            )
            return cur.rowcount

    async def claim_due(self, limit: int, exclude: set[str] | frozenset[str] = frozenset()) -> list[WorkItem]:
        """Mark up to ``limit`` due pending items running and return them (oldest due first)."""
        if limit <= 0:
            return []
        now = self.db.clock.now()
        async with self.db.transaction() as conn:
            rows = await conn.execute_fetchall(
                "SELECT key FROM work_items WHERE state = 'pending' AND due_at <= ? ORDER BY due_at, key LIMIT ?",
                (now, limit + len(exclude)),
            )
            keys = [r[0] for r in rows if r[0] not in exclude][:limit]
            claimed = []
            for key in keys:
                got = await conn.execute_fetchall(
                    "UPDATE work_items SET state = 'running', claimed_generation = generation, updated_at = ?"
                    " WHERE key = ? RETURNING *",
                    (now, key),
                )
                claimed += [work_row(r) for r in got]
            return claimed

    async def finish(
        self,
        item: WorkItem,
        state: str,
        *,
        reason: str | None = None,
        error: str | None = None,
        retry_at: float | None = None,
    ) -> str:
        """Record how a claimed item ended; returns the state it was left in.

        ``state`` is done | skipped | waiting | held | failed, or pending with ``retry_at`` for a retry.
        If a new delivery arrived while it ran (generation moved on) the item goes back to pending at once.
        """
        now = self.db.clock.now()
        attempts = item.attempts + 1 if retry_at is not None or state == "failed" else 0
        async with self.db.transaction() as conn:
            rows = await conn.execute_fetchall(
                "UPDATE work_items SET"
                "  state = CASE WHEN generation != claimed_generation THEN 'pending' ELSE ? END,"
                "  due_at = CASE WHEN generation != claimed_generation THEN ? ELSE ? END,"
                "  attempts = ?, reason = ?, error = ?, updated_at = ?"
                " WHERE key = ? RETURNING state",
                (state, now, retry_at if retry_at is not None else now, attempts, reason, error, now, item.key),
            )
        return str(next(iter(rows))[0]) if rows else state

    async def requeue(self, key: str) -> bool:
        """Retry/replay button: make an item due now whatever state it is in (unless running)."""
        now = self.db.clock.now()
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "UPDATE work_items SET state = 'pending', due_at = ?, attempts = 0, updated_at = ?,"
                " pending_since = CASE WHEN state = 'pending' THEN pending_since ELSE ? END"
                " WHERE key = ? AND state != 'running'",
                (now, now, now, key),
            )
            if cur.rowcount == 0:
                await reopen(conn, [(key, now, now, None)])
            return True

    async def get_work(self, key: str) -> WorkItem | None:
        rows = await self.db.read("SELECT * FROM work_items WHERE key = ?", (key,))
        return work_row(rows[0]) if rows else None

    async def list_work(
        self, *, states: tuple[str, ...] = (), kind: str | None = None, limit: int = 100
    ) -> list[WorkItem]:
        where, args = ["1 = 1"], []
        if states:
            where.append(f"state IN ({','.join('?' * len(states))})")
            args += list(states)
        if kind:
            where.append("kind = ?")
            args.append(kind)
        rows = await self.db.read(
            f"SELECT * FROM work_items WHERE {' AND '.join(where)} ORDER BY updated_at DESC LIMIT ?",
            (*args, limit),
        )
        return [work_row(r) for r in rows]

    async def next_due_at(self) -> float | None:
        rows = await self.db.read("SELECT MIN(due_at) FROM work_items WHERE state = 'pending'")
        value = rows[0][0] if rows else None
        return float(value) if value is not None else None
