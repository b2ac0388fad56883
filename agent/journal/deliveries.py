"""Deliveries exactly as received, recorded through a group commit.

Concurrent webhook requests wait together: one transaction (one fsync) covers all of them, and each
request is answered only after that commit returned. A delivery that names a resource re-opens that
resource's work item in the same transaction (``work.reopen``), true inserts only.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from typing import Any

import aiosqlite

from agent.journal.db import Database
from agent.journal.types import WORK_STATES, Counts, Delivery, Fingerprint, NewDelivery, Recorded, delivery_row
from agent.journal.work import CHANGED, reopen


class DeliveryJournal:
    db: Database
    _batch_max: int
    _queue: list[tuple[NewDelivery, asyncio.Future[Recorded]]]
    _writer: asyncio.Task[None] | None
    _closed: bool

    async def record_delivery(self, delivery: NewDelivery) -> Recorded:
        """Journal one delivery; returns only after the transaction holding it committed."""
        if self._closed:
            raise RuntimeError("journal is closed")
        future: asyncio.Future[Recorded] = asyncio.get_running_loop().create_future()
        self._queue.append((delivery, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_batches(), name="journal-writer")
        return await future

    def _cut(self) -> list[tuple[NewDelivery, asyncio.Future[Recorded]]]:
        batch, self._queue = self._queue[: self._batch_max], self._queue[self._batch_max :]
        return batch

    async def _write_batches(self) -> None:
        while self._queue:
            batch = []
            try:
                async with self.db.transaction() as conn:
                    # Cut once the transaction is open: what arrived while the write lock and BEGIN were
                    # awaited joins this commit instead of waiting for the next one (issue 17).
                    batch = self._cut()
                    results = await _insert(conn, [d for d, _ in batch])
            except Exception as exc:
                batch = batch or self._cut()  # the transaction did not open: these fail, the rest retries
                for _, fut in batch:
                    if not fut.done():
                        fut.set_exception(exc)
                continue
            for (_, fut), result in zip(batch, results, strict=True):
                if not fut.done():
                    fut.set_result(result)

    async def get_delivery(self, delivery_id: int) -> Delivery | None:
        rows = await self.db.read("SELECT * FROM deliveries WHERE id = ?", (delivery_id,))
        return delivery_row(rows[0]) if rows else None

    async def list_deliveries(self, *, limit: int = 100, state: str | None = None) -> list[Delivery]:
        where, args = ("WHERE state = ?", (state,)) if state else ("", ())
        rows = await self.db.read(f"SELECT * FROM deliveries {where} ORDER BY id DESC LIMIT ?", (*args, limit))
        return [delivery_row(r) for r in rows]

    async def counts(self) -> Counts:
        deliveries: dict[str, int] = {"stored": 0, "duplicates": 0}
        for state, n, repeats in await self.db.read(
            "SELECT state, COUNT(*), COALESCE(SUM(repeats), 0) FROM deliveries GROUP BY state"
        ):
            deliveries[str(state)] = int(n)
            deliveries["stored"] += int(n)
            deliveries["duplicates"] += int(repeats)
        work = dict.fromkeys(WORK_STATES, 0)
        for state, n in await self.db.read("SELECT state, COUNT(*) FROM work_items GROUP BY state"):
            work[str(state)] = int(n)
        return Counts(deliveries=deliveries, work=work)


async def _insert(conn: aiosqlite.Connection, batch: list[NewDelivery]) -> list[Recorded]:
    """Insert a whole batch with one statement (sent with the state read: one wait for SQLite's thread).

    Copies within the batch are folded first; the upsert counts repeats, and only rows that were
    truly inserted re-open their resource's work item.
    """
    groups: dict[str, list[int]] = {}
    for index, d in enumerate(batch):
        groups.setdefault(d.dedupe_key, []).append(index)
    firsts = [batch[indexes[0]] for indexes in groups.values()]
    rows, compared = await _store(conn, firsts, groups)
    results: list[Recorded | None] = [None] * len(batch)
    inserted: dict[str, int] = {}
    for row_id, key, repeats in rows:
        indexes = groups[key]
        # A row that existed before comes back with more repeats than this batch brought.
        existed = int(repeats) >= len(indexes)
        if not existed:
            inserted[key] = int(row_id)
        for position, index in enumerate(indexes):
            results[index] = Recorded(id=int(row_id), duplicate=existed or position > 0)
    # in delivery order, as the trigger of migration 0001 fired them
    opening = sorted(
        ((inserted[d.dedupe_key], d.work_key, d) for d in firsts if d.work_key and d.dedupe_key in inserted),
        key=lambda hint: hint[0],
    )
    fingerprints = _fingerprints([(key, d.fingerprint) for _, key, d in opening], compared)
    await reopen(conn, [(key, d.received_at, d.received_at, row_id, fp)
                        for (row_id, key, d), fp in zip(opening, fingerprints, strict=True)])  # fmt: skip
    done = [r for r in results if r is not None]
    if len(done) != len(batch):  # raising here rolls the whole batch back
        raise RuntimeError("journal: a delivery of the batch was not returned by SQLite")
    return done


async def _store(conn: aiosqlite.Connection, firsts: list[NewDelivery],
                 groups: dict[str, list[int]]) -> tuple[Iterable[aiosqlite.Row], set[str]]:  # fmt: skip
    """The batch's insert (rows: id, dedupe key, repeats) and the keys of its items whose state makes the
    re-open rule compare a lazy fingerprint, read with the insert: SQLite's thread runs both in order,
    one wait instead of two (a delivery insert changes no work item)."""
    params: list[Any] = []
    for d in firsts:
        params += [
            d.received_at, d.webhook_id, d.delivery_id, d.topic, d.resource, d.resource_id,
            json.dumps(d.headers, ensure_ascii=False), d.body, d.body_sha256, d.dedupe_key,
            d.signature, d.state, d.error, d.work_key, len(groups[d.dedupe_key]) - 1,
        ]  # fmt: skip
    insert = conn.execute_fetchall(
        "INSERT INTO deliveries (received_at, webhook_id, delivery_id, topic, resource, resource_id,"
        " headers, body, body_sha256, dedupe_key, signature, state, error, work_key, repeats) VALUES "
        + ",".join(["(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"] * len(firsts))
        + " ON CONFLICT (dedupe_key) DO UPDATE SET repeats = repeats + excluded.repeats + 1"
        " RETURNING id, dedupe_key, repeats",
        params,
    )
    lazy = sorted({d.work_key for d in firsts if d.work_key and callable(d.fingerprint)})
    if not lazy:  # pings, product and customer topics: nothing to compare
        return await insert, set()
    states = conn.execute_fetchall(
        f"SELECT key FROM work_items WHERE state != 'pending' AND key IN ({','.join('?' * len(lazy))})", lazy
    )
    rows, compared = await asyncio.gather(insert, states, return_exceptions=True)
    if isinstance(rows, BaseException):
        raise rows
    if isinstance(compared, BaseException):
        raise compared
    return rows, {str(row[0]) for row in compared}


def _fingerprints(hints: list[tuple[str, Fingerprint]], compared: set[str]) -> list[str]:
    """Each delivery's fingerprint for ``work.reopen``; a lazy one is computed only for the items in
    ``compared`` (state other than pending, read inside this write transaction: it cannot change before
    the re-open). A new or pending item opens whatever the order says, so its fingerprint is not
    computed: the costliest step of a webhook request otherwise (issue 17)."""
    result: list[str] = []
    for key, fp in hints:
        if callable(fp):
            fp = fp() if key in compared else CHANGED
        result.append(fp or CHANGED)
    return result
