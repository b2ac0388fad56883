"""Work items: one per resource, claimed by the worker, finished with a state and a reason.

``REOPEN`` is the one home of the re-open rule, used for deliveries, sweep hints, replays and
retries alike: many hints collapse into one item; a running item keeps running but its generation
moves on, so the worker that finishes it sees the resource changed meanwhile and leaves it pending.
"""

from __future__ import annotations

from collections.abc import Sequence

import aiosqlite

from agent.ids import parse_work_key
from agent.journal.db import Database
from agent.journal.types import WorkItem, work_row

# A hint that says the resource changed without a fingerprint to compare (an action webhook, a
# draft booked by a human, a replay): it re-opens whatever state the item is in.
CHANGED = "*"

REOPEN = (
    "INSERT INTO work_items (key, kind, resource_id, state, due_at, created_at, updated_at, last_delivery,"
    " hint_fingerprint, pending_since) VALUES {values}"
    " ON CONFLICT(key) DO UPDATE SET"
    "  generation = generation + 1,"
    # how long work has waited counts from when it last became pending, not from its last attempt
    "  pending_since = CASE WHEN state IN ('pending', 'running') THEN pending_since ELSE excluded.pending_since END,"
    "  state = CASE WHEN state = 'running' THEN 'running' ELSE 'pending' END,"
    "  attempts = CASE WHEN state IN ('pending', 'running') THEN attempts ELSE 0 END,"
    # A hint never cancels a backoff (a short sweep interval made 12 attempts in 21 s otherwise).
    "  due_at = CASE WHEN state = 'running' THEN due_at"
    "   WHEN state = 'pending' AND attempts > 0 THEN MAX(due_at, excluded.due_at)"
    "   WHEN state = 'pending' THEN MIN(due_at, excluded.due_at)"
    "   ELSE excluded.due_at END,"
    "  updated_at = excluded.updated_at,"
    "  last_delivery = COALESCE(excluded.last_delivery, last_delivery),"
    "  hint_fingerprint = COALESCE(excluded.hint_fingerprint, hint_fingerprint)"
    # Whether the resource changed: a fingerprint unlike the one last acted on, or CHANGED. A hint
    # without a fingerprint (import) re-opens finished work but never revives a failed or held item.
    " WHERE state = 'pending'"
    "  OR excluded.hint_fingerprint = '" + CHANGED + "'"
    "  OR (excluded.hint_fingerprint IS NOT NULL AND excluded.hint_fingerprint IS NOT fingerprint)"
    "  OR (excluded.hint_fingerprint IS NULL AND state NOT IN ('failed', 'held'))"
    " RETURNING key"
)

Hint = tuple[str, float, float, int | None, str | None]  # key, due_at, now, delivery id, fingerprint


async def reopen(conn: aiosqlite.Connection, hints: Sequence[Hint]) -> set[str]:
    """Create or re-open the work items named by hints, in order, with one statement (a batch of
    deliveries costs one round trip); returns the keys the rule created or re-opened."""
    if not hints:
        return set()
    params: list[object] = []
    for key, due, now, delivery, fingerprint in hints:
        if parse_work_key(key) != key:  # the one parser: order:032 must never become a second item
            raise ValueError(f"not a canonical work key: {key!r}")
        kind, _, resource_id = key.partition(":")
        params += [key, kind, resource_id, "pending", due, now, now, delivery, fingerprint, now]
    values = ",".join(["(?,?,?,?,?,?,?,?,?,?)"] * len(hints))
    return {str(row[0]) for row in await conn.execute_fetchall(REOPEN.format(values=values), params)}


class WorkJournal:
    db: Database

    async def hint_work(self, key: str, *, delay: float = 0.0, fingerprint: str | None = None) -> bool:
        """A resource may have changed, without a delivery (the sweep, the drafts watch, import);
        ``fingerprint`` is what the hint saw, or CHANGED. Returns whether the item was (re)opened."""
        now = self.db.clock.now()
        async with self.db.transaction() as conn:
            return bool(await reopen(conn, [(key, now + delay, now, None, fingerprint)]))

    async def acted_on(self, key: str, fingerprint: str) -> None:
        """The worker acts on the resource as it is now: later hints with this fingerprint are no change."""
        async with self.db.transaction() as conn:
            await conn.execute("UPDATE work_items SET fingerprint = ? WHERE key = ?", (fingerprint, key))

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
        attempts: int | None = None,
    ) -> str:
        """Record how a claimed item ended; returns the state it was left in.

        ``state`` is done | skipped | waiting | held | failed, or pending with ``retry_at`` for a retry.
        If a new delivery arrived while it ran (generation moved on) the item goes back to pending at once.
        ``attempts`` (failures without progress) is the worker's count; by default one more failure.
        """
        now = self.db.clock.now()
        if attempts is None:
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

    async def requeue(self, key: str, *, create: bool = False) -> bool:
        """Retry/replay: a person asks for the item again, so it is due now whatever its state or
        backoff (a running one runs once more when it ends). Returns False, writing nothing, when
        there is no such item, unless ``create`` (a replay of an order the agent never saw)."""
        now = self.db.clock.now()
        async with self.db.transaction() as conn:
            rows = await conn.execute_fetchall(
                "UPDATE work_items SET"
                "  generation = generation + 1,"
                "  pending_since = CASE WHEN state IN ('pending', 'running') THEN pending_since ELSE ? END,"
                "  state = CASE WHEN state = 'running' THEN 'running' ELSE 'pending' END,"
                "  due_at = CASE WHEN state = 'running' THEN due_at ELSE ? END,"
                "  attempts = CASE WHEN state = 'running' THEN attempts ELSE 0 END, updated_at = ?"
                " WHERE key = ? RETURNING key",
                (now, now, now, key),
            )
            if rows:
                return True
            if create:
                await reopen(conn, [(key, now, now, None, CHANGED)])
            return create

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
