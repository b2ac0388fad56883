"""The shared database handle: one aiosqlite connection in WAL mode, its migrations, and the one
transaction primitive every journal module (and every room's own journal module) writes through.

Every write is a whole ``BEGIN IMMEDIATE … COMMIT`` under an ``asyncio.Lock``: aiosqlite shares one
connection between tasks, so two transactions must never interleave on it. Anything that fails,
the ``COMMIT`` included (a full disk, a deferred constraint), rolls back, so the connection is never
left inside a transaction. Reads go to a second, read-only connection: a read on the writer outside
the lock could see rows of a transaction that is then rolled back.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Iterable
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import aiosqlite

from agent.clock import Clock

Synchronous = Literal["FULL", "NORMAL"]


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


class Database:
    """The handle a journal module wraps: ``transaction()`` to write, ``read()`` to query."""

    def __init__(self, conn: aiosqlite.Connection, clock: Clock, reader: aiosqlite.Connection | None = None) -> None:
        self.conn = conn
        self.clock = clock
        self._reader = reader  # None for ":memory:": reads then take the write lock
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path | str, *, synchronous: Synchronous, clock: Clock) -> Database:
        memory = str(path) == ":memory:"
        if not memory:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = await _connect(str(path))
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute(f"PRAGMA synchronous={synchronous}")
        await conn.execute("PRAGMA foreign_keys=ON")
        await migrate(conn)
        reader = None if memory else await _connect(_read_only_uri(path), uri=True)
        return cls(conn, clock, reader)

    async def close(self) -> None:
        if self._reader is not None:
            await self._reader.close()
        await self.conn.close()

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        async with self._write_lock:
            try:
                # Inside the try: a task cancelled while awaiting BEGIN (Ctrl-C of an import, the worker's
                # stop) still has the BEGIN run on aiosqlite's thread, and it must be rolled back too.
                await self.conn.execute("BEGIN IMMEDIATE")
                yield self.conn
                await self.conn.execute("COMMIT")
            except BaseException:
                await self._rollback()
                raise

    async def _rollback(self) -> None:
        # A failed COMMIT (SQLITE_FULL, a deferred foreign key) leaves the transaction open: every
        # later BEGIN would fail while reads still worked. SQLite may already have rolled back. The
        # ROLLBACK is queued whatever in_transaction says now: a BEGIN whose await was cancelled may not
        # have run yet, and aiosqlite runs calls in order, so the ROLLBACK comes after it.
        with contextlib.suppress(sqlite3.Error):
            await self.conn.execute("ROLLBACK")

    async def read(self, sql: str, args: Iterable[Any] = ()) -> list[Any]:
        if self._reader is not None:
            return list(await self._reader.execute_fetchall(sql, tuple(args)))
        async with self._write_lock:
            return list(await self.conn.execute_fetchall(sql, tuple(args)))

    async def check_write(self) -> None:
        """A cheap write in a transaction, for /healthz: raises when the journal cannot take a write."""
        async with self.transaction() as conn:
            await conn.execute(
                "INSERT INTO kv (key, value, updated_at) VALUES ('healthz', 'ok', ?) ON CONFLICT (key) DO UPDATE"
                " SET updated_at = excluded.updated_at",
                (self.clock.now(),),
            )


def _read_only_uri(path: Path | str) -> str:
    return f"{Path(path).absolute().as_uri()}?mode=ro"


async def _connect(database: str, *, uri: bool = False) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(database, isolation_level=None, uri=uri)
    conn.row_factory = sqlite3.Row
    await conn.execute("PRAGMA busy_timeout=5000")
    return conn
