"""The journal: the agent's single source of truth and the only module with SQL.

One aiosqlite connection in WAL mode. Every write is a whole ``BEGIN IMMEDIATE … COMMIT`` under an
``asyncio.Lock`` (aiosqlite shares one connection between tasks). Deliveries are recorded through a
group commit: concurrent webhook requests wait together, one transaction (one fsync) covers all of
them, and each request is answered only after that commit returned.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import aiosqlite

from agent.clock import Clock, SystemClock

Synchronous = Literal["FULL", "NORMAL"]
WORK_STATES = ("pending", "running", "done", "failed", "skipped", "held")


@dataclass(frozen=True)
class NewDelivery:
    """A delivery as intake understood it, ready to be journaled."""

    received_at: float
    headers: dict[str, str]
    body: bytes
    signature: str  # valid | unsigned_ping
    state: str  # queued | ping | invalid_json | unknown_topic | error_payload | ignored
    topic: str | None = None
    resource: str | None = None
    resource_id: str | None = None
    webhook_id: str | None = None
    delivery_id: str | None = None
    error: str | None = None
    work_key: str | None = None

    @cached_property
    def body_sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()

    @cached_property
    def dedupe_key(self) -> str:
        # X-WC-Webhook-Delivery-ID is not unique (same id within one second), so the
        # identity of a delivery is what it says: topic, resource and the exact bytes.
        return f"{self.topic or self.state}|{self.resource_id or ''}|{self.body_sha256}"


@dataclass(frozen=True)
class Recorded:
    id: int
    duplicate: bool


@dataclass(frozen=True)
class Delivery:
    id: int
    received_at: float
    topic: str | None
    resource_id: str | None
    delivery_id: str | None
    signature: str
    state: str
    error: str | None
    work_key: str | None
    repeats: int
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class Counts:
    deliveries: dict[str, int]
    work: dict[str, int]


@dataclass(frozen=True)
class WorkItem:
    key: str
    kind: str
    resource_id: str
    state: str
    generation: int
    attempts: int
    due_at: float
    updated_at: float
    reason: str | None
    error: str | None


@dataclass(frozen=True)
class Link:
    kind: str
    woo_id: str
    dyn_id: str | None
    dyn_number: str | None
    state: str
    reference: str | None
    amount: str | None
    data: dict[str, Any]
    updated_at: float


@dataclass(frozen=True)
class Intent:
    key: str
    state: str
    attempts: int
    result: str | None


@dataclass(frozen=True)
class Event:
    id: int
    at: float
    work_key: str | None
    level: str
    message: str
    data: dict[str, Any] | None


def migrations() -> list[tuple[int, str]]:
    """Numbered SQL migrations shipped in ``agent/sql`` as ``NNNN_name.sql``."""
    found = []
    for entry in resources.files("agent.sql").iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), entry.read_text(encoding="utf-8")))
    return sorted(found)


async def migrate(conn: aiosqlite.Connection, upto: int | None = None) -> int:
    """Apply every migration newer than ``PRAGMA user_version``; return the new version."""
    async with conn.execute("PRAGMA user_version") as cur:
        row = await cur.fetchone()
    version = int(row[0]) if row else 0
    for number, sql in migrations():
        if number <= version or (upto is not None and number > upto):
            continue
        await conn.executescript(f"BEGIN IMMEDIATE;\n{sql}\nPRAGMA user_version = {number};\nCOMMIT;")
        version = number
    return version


class Journal:
    def __init__(self, conn: aiosqlite.Connection, clock: Clock, batch_max: int) -> None:
        self._conn = conn
        self._clock = clock
        self._lock = asyncio.Lock()
        self._batch_max = batch_max
        self._queue: list[tuple[NewDelivery, asyncio.Future[Recorded]]] = []
        self._writer: asyncio.Task[None] | None = None
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
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(str(path), isolation_level=None)
        conn.row_factory = sqlite3.Row
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute(f"PRAGMA synchronous={synchronous}")
        await conn.execute("PRAGMA foreign_keys=ON")
        await conn.execute("PRAGMA busy_timeout=5000")
        await migrate(conn)
        return cls(conn, clock or SystemClock(), batch_max)

    async def close(self) -> None:
        self._closed = True
        if self._writer is not None:
            # Let acknowledged-to-be work finish: the writer drains the queue before it exits.
            await asyncio.shield(self._writer)
        await self._conn.close()

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        async with self._lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                await self._conn.execute("ROLLBACK")
                raise
            await self._conn.execute("COMMIT")

    # -- deliveries ---------------------------------------------------------------------------

    async def record_delivery(self, delivery: NewDelivery) -> Recorded:
        """Journal one delivery; returns only after the transaction holding it committed."""
        if self._closed:
            raise RuntimeError("journal is closed")
        future: asyncio.Future[Recorded] = asyncio.get_running_loop().create_future()
        self._queue.append((delivery, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_batches(), name="journal-writer")
        return await future

    async def _write_batches(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[: self._batch_max], self._queue[self._batch_max :]
            try:
                async with self._transaction() as conn:
                    results = await self._insert_deliveries(conn, [d for d, _ in batch])
            except Exception as exc:
                for _, fut in batch:
                    if not fut.done():
                        fut.set_exception(exc)
                continue
            for (_, fut), result in zip(batch, results, strict=True):
                if not fut.done():
                    fut.set_result(result)

    async def _insert_deliveries(self, conn: aiosqlite.Connection, batch: list[NewDelivery]) -> list[Recorded]:
        """Insert a whole batch with one statement (one round trip to the SQLite thread).

        Copies within the batch are folded first; the upsert counts repeats, and the trigger
        deliveries_hint_work re-opens the resource's work item for true inserts only.
        """
        groups: dict[str, list[int]] = {}
        for index, d in enumerate(batch):
            groups.setdefault(d.dedupe_key, []).append(index)
        firsts = [batch[indexes[0]] for indexes in groups.values()]
        params: list[Any] = []
        for d in firsts:
            params += [
                d.received_at, d.webhook_id, d.delivery_id, d.topic, d.resource, d.resource_id,
                json.dumps(d.headers, ensure_ascii=False), d.body, d.body_sha256, d.dedupe_key,
                d.signature, d.state, d.error, d.work_key, len(groups[d.dedupe_key]) - 1,
            ]
        rows = await conn.execute_fetchall(
            "INSERT INTO deliveries (received_at, webhook_id, delivery_id, topic, resource, resource_id,"
            " headers, body, body_sha256, dedupe_key, signature, state, error, work_key, repeats) VALUES "
            + ",".join(["(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"] * len(firsts))
            + " ON CONFLICT (dedupe_key) DO UPDATE SET repeats = repeats + excluded.repeats + 1"
            " RETURNING id, dedupe_key, repeats",
            params,
        )
        results: list[Recorded | None] = [None] * len(batch)
        for row_id, key, repeats in rows:
            indexes = groups[key]
            # A row that existed before comes back with more repeats than this batch brought.
            existed = int(repeats) >= len(indexes)
            for position, index in enumerate(indexes):
                results[index] = Recorded(id=int(row_id), duplicate=existed or position > 0)
        done = [r for r in results if r is not None]
        if len(done) != len(batch):  # raising here rolls the whole batch back
            raise RuntimeError("journal: a delivery of the batch was not returned by SQLite")
        return done

    async def _hint_work(self, conn: aiosqlite.Connection, key: str, now: float, delivery: int | None) -> None:
        """Create or re-open the work item for a resource; many hints collapse into one item.

        A running item keeps running but its generation moves on, so the worker that finishes it
        sees the resource changed meanwhile and leaves it pending instead of done.
        """
        kind, _, resource_id = key.partition(":")
        await conn.execute(
            "INSERT INTO work_items (key, kind, resource_id, state, due_at, created_at, updated_at,"
            " last_delivery) VALUES (?, ?, ?, 'pending', ?, ?, ?, ?)"
            " ON CONFLICT(key) DO UPDATE SET"
            "  generation = generation + 1,"
            "  state = CASE WHEN state = 'running' THEN 'running' ELSE 'pending' END,"
            "  attempts = CASE WHEN state IN ('pending', 'running') THEN attempts ELSE 0 END,"
            "  due_at = CASE WHEN state = 'running' THEN due_at ELSE excluded.due_at END,"
            "  updated_at = excluded.updated_at,"
            "  last_delivery = COALESCE(excluded.last_delivery, last_delivery)",
            (key, kind, resource_id, now, now, now, delivery),
        )

    async def hint_work(self, key: str, *, delay: float = 0.0) -> None:
        """Mark a resource as changed without a delivery (the sweep and replay use this)."""
        now = self._clock.now()
        async with self._transaction() as conn:
            await self._hint_work(conn, key, now + delay, None)

    async def get_delivery(self, delivery_id: int) -> Delivery | None:
        rows = await self._conn.execute_fetchall("SELECT * FROM deliveries WHERE id = ?", (delivery_id,))
        return _delivery(next(iter(rows))) if rows else None

    async def list_deliveries(self, *, limit: int = 100, state: str | None = None) -> list[Delivery]:
        where, args = ("WHERE state = ?", (state,)) if state else ("", ())
        rows = await self._conn.execute_fetchall(
            f"SELECT * FROM deliveries {where} ORDER BY id DESC LIMIT ?", (*args, limit)
        )
        return [_delivery(r) for r in rows]

    async def counts(self) -> Counts:
        deliveries: dict[str, int] = {"stored": 0, "duplicates": 0}
        rows = await self._conn.execute_fetchall(
            "SELECT state, COUNT(*), COALESCE(SUM(repeats), 0) FROM deliveries GROUP BY state"
        )
        for state, n, repeats in rows:
            deliveries[str(state)] = int(n)
            deliveries["stored"] += int(n)
            deliveries["duplicates"] += int(repeats)
        work = dict.fromkeys(WORK_STATES, 0)
        for state, n in await self._conn.execute_fetchall(
            "SELECT state, COUNT(*) FROM work_items GROUP BY state"
        ):
            work[str(state)] = int(n)
        return Counts(deliveries=deliveries, work=work)

    # -- work items -----------------------------------------------------------------------------

    async def reset_running(self) -> int:
        """After a crash nothing is running: put interrupted items back, due at once."""
        now = self._clock.now()
        async with self._transaction() as conn:
            cur = await conn.execute(
                "UPDATE work_items SET state = 'pending', due_at = ?, updated_at = ? WHERE state = 'running'",
                (now, now),
            )
            return cur.rowcount

    async def claim_due(self, limit: int, exclude: set[str] | frozenset[str] = frozenset()) -> list[WorkItem]:
        """Mark up to ``limit`` due pending items running and return them (oldest due first)."""
        if limit <= 0:
            return []
        now = self._clock.now()
        async with self._transaction() as conn:
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
                claimed += [_work_item(r) for r in got]
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

        ``state`` is done | skipped | held | failed, or pending with ``retry_at`` for a retry. If a
        new delivery arrived while it ran (generation moved on) the item goes back to pending at once.
        """
        now = self._clock.now()
        attempts = item.attempts + 1 if retry_at is not None or state == "failed" else 0
        async with self._transaction() as conn:
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
        now = self._clock.now()
        async with self._transaction() as conn:
            cur = await conn.execute(
                "UPDATE work_items SET state = 'pending', due_at = ?, attempts = 0, updated_at = ?"
                " WHERE key = ? AND state != 'running'",
                (now, now, key),
            )
            if cur.rowcount == 0:
                await self._hint_work(conn, key, now, None)
            return True

    async def get_work(self, key: str) -> WorkItem | None:
        rows = await self._conn.execute_fetchall("SELECT * FROM work_items WHERE key = ?", (key,))
        return _work_item(next(iter(rows))) if rows else None

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
        rows = await self._conn.execute_fetchall(
            f"SELECT * FROM work_items WHERE {' AND '.join(where)} ORDER BY updated_at DESC LIMIT ?",
            (*args, limit),
        )
        return [_work_item(r) for r in rows]

    async def next_due_at(self) -> float | None:
        rows = await self._conn.execute_fetchall("SELECT MIN(due_at) FROM work_items WHERE state = 'pending'")
        value = next(iter(rows))[0] if rows else None
        return float(value) if value is not None else None

    # -- links, intents, snapshots, events ----------------------------------------------------------

    async def get_link(self, kind: str, woo_id: str | int) -> Link | None:
        rows = await self._conn.execute_fetchall(
            "SELECT * FROM links WHERE kind = ? AND woo_id = ?", (kind, str(woo_id))
        )
        return _link(next(iter(rows))) if rows else None

    async def list_links(self, kind: str, *, limit: int = 10_000) -> list[Link]:
        rows = await self._conn.execute_fetchall(
            "SELECT * FROM links WHERE kind = ? ORDER BY updated_at DESC LIMIT ?", (kind, limit)
        )
        return [_link(r) for r in rows]

    async def put_link(
        self,
        kind: str,
        woo_id: str | int,
        *,
        state: str,
        dyn_id: str | int | None = None,
        dyn_number: str | int | None = None,
        reference: str | None = None,
        amount: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        now = self._clock.now()
        async with self._transaction() as conn:
            await conn.execute(
                "INSERT INTO links (kind, woo_id, dyn_id, dyn_number, state, reference, amount, data, updated_at)"
                " VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT (kind, woo_id) DO UPDATE SET"
                " dyn_id = excluded.dyn_id, dyn_number = excluded.dyn_number, state = excluded.state,"
                " reference = excluded.reference, amount = excluded.amount, data = excluded.data,"
                " updated_at = excluded.updated_at",
                (kind, str(woo_id), _opt(dyn_id), _opt(dyn_number), state, reference, amount,
                 json.dumps(data or {}, default=str), now),
            )

    async def start_intent(self, key: str) -> Intent | None:
        """Record that a non-idempotent call is about to be made; returns the earlier intent, if any."""
        now = self._clock.now()
        async with self._transaction() as conn:
            rows = await conn.execute_fetchall("SELECT * FROM intents WHERE key = ?", (key,))
            before = _intent(next(iter(rows))) if rows else None
            await conn.execute(
                "INSERT INTO intents (key, state, attempts, started_at) VALUES (?, 'started', 1, ?)"
                " ON CONFLICT (key) DO UPDATE SET attempts = attempts + 1, started_at = excluded.started_at,"
                " state = CASE WHEN state = 'done' THEN 'done' ELSE 'started' END",
                (key, now),
            )
        return before

    async def finish_intent(self, key: str, result: str) -> None:
        now = self._clock.now()
        async with self._transaction() as conn:
            await conn.execute(
                "UPDATE intents SET state = 'done', finished_at = ?, result = ? WHERE key = ?", (now, result, key)
            )

    async def get_intent(self, key: str) -> Intent | None:
        rows = await self._conn.execute_fetchall("SELECT * FROM intents WHERE key = ?", (key,))
        return _intent(next(iter(rows))) if rows else None

    async def save_snapshot(self, work_key: str, resource: Any, plan: Any) -> int:
        now = self._clock.now()
        async with self._transaction() as conn:
            cur = await conn.execute(
                "INSERT INTO snapshots (work_key, taken_at, resource, plan) VALUES (?,?,?,?)",
                (work_key, now, json.dumps(resource, default=str), json.dumps(plan, default=str)),
            )
            return int(cur.lastrowid or 0)

    async def latest_snapshot(self, work_key: str) -> tuple[Any, Any] | None:
        rows = await self._conn.execute_fetchall(
            "SELECT resource, plan FROM snapshots WHERE work_key = ? ORDER BY id DESC LIMIT 1", (work_key,)
        )
        if not rows:
            return None
        row = next(iter(rows))
        return json.loads(row[0]), json.loads(row[1]) if row[1] else None

    async def add_event(
        self, work_key: str | None, message: str, *, level: str = "info", data: dict[str, Any] | None = None
    ) -> None:
        now = self._clock.now()
        async with self._transaction() as conn:
            await conn.execute(
                "INSERT INTO events (at, work_key, level, message, data) VALUES (?,?,?,?,?)",
                (now, work_key, level, message, json.dumps(data, default=str) if data is not None else None),
            )

    async def list_events(self, work_key: str | None = None, *, limit: int = 200) -> list[Event]:
        where, args = ("WHERE work_key = ?", (work_key,)) if work_key else ("", ())
        rows = await self._conn.execute_fetchall(
            f"SELECT * FROM events {where} ORDER BY id DESC LIMIT ?", (*args, limit)
        )
        return [
            Event(id=r["id"], at=r["at"], work_key=r["work_key"], level=r["level"], message=r["message"],
                  data=json.loads(r["data"]) if r["data"] else None)
            for r in rows
        ]

    async def get_value(self, key: str) -> str | None:
        rows = await self._conn.execute_fetchall("SELECT value FROM kv WHERE key = ?", (key,))
        return str(next(iter(rows))[0]) if rows else None

    async def set_value(self, key: str, value: str) -> None:
        now = self._clock.now()
        async with self._transaction() as conn:
            await conn.execute(
                "INSERT INTO kv (key, value, updated_at) VALUES (?,?,?) ON CONFLICT (key) DO UPDATE SET"
                " value = excluded.value, updated_at = excluded.updated_at",
                (key, value, now),
            )

    @property
    def clock(self) -> Clock:
        return self._clock

    @property
    def db(self) -> Journal:
        """The handle rooms' journal modules use (``read``, ``transaction``), as in the split journal."""
        return self

    async def read(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        return list(await self._conn.execute_fetchall(sql, args))

    def transaction(self) -> contextlib.AbstractAsyncContextManager[aiosqlite.Connection]:
        return self._transaction()

    async def ping(self) -> bool:
        rows = await self._conn.execute_fetchall("SELECT 1")
        return bool(rows)


def _delivery(row: Any) -> Delivery:
    return Delivery(
        id=row["id"], received_at=row["received_at"], topic=row["topic"], resource_id=row["resource_id"],
        delivery_id=row["delivery_id"], signature=row["signature"], state=row["state"], error=row["error"],
        work_key=row["work_key"], repeats=row["repeats"], body=bytes(row["body"]),
        headers=json.loads(row["headers"]),
    )


def _work_item(row: Any) -> WorkItem:
    return WorkItem(
        key=row["key"], kind=row["kind"], resource_id=row["resource_id"], state=row["state"],
        generation=row["generation"], attempts=row["attempts"], due_at=row["due_at"],
        updated_at=row["updated_at"], reason=row["reason"], error=row["error"],
    )


def _link(row: Any) -> Link:
    return Link(
        kind=row["kind"], woo_id=row["woo_id"], dyn_id=row["dyn_id"], dyn_number=row["dyn_number"],
        state=row["state"], reference=row["reference"], amount=row["amount"],
        data=json.loads(row["data"]) if row["data"] else {}, updated_at=row["updated_at"],
    )


def _intent(row: Any) -> Intent:
    return Intent(key=row["key"], state=row["state"], attempts=row["attempts"], result=row["result"])


def _opt(value: str | int | None) -> str | None:
    return None if value is None else str(value)
