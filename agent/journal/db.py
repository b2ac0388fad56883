"""The shared database handle: one aiosqlite connection in WAL mode, its migrations, and the one
transaction primitive every journal module (and every room's own journal module) writes through.

Every write is a whole ``BEGIN IMMEDIATE … COMMIT`` under an ``asyncio.Lock``: aiosqlite shares one
connection between tasks, so two transactions must never interleave on it.
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

    def __init__(self, conn: aiosqlite.Connection, clock: Clock) -> None:
        self.conn = conn
        self.clock = clock
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path | str, *, synchronous: Synchronous, clock: Clock) -> Database:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(str(path), isolation_level=None)
        conn.row_factory = sqlite3.Row
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute(f"PRAGMA synchronous={synchronous}")
        await conn.execute("PRAGMA foreign_keys=ON")
        await conn.execute("PRAGMA busy_timeout=5000")
        await migrate(conn)
        return cls(conn, clock)

    async def close(self) -> None:
        await self.conn.close()

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        async with self._write_lock:
            await self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                await self.conn.execute("ROLLBACK")
                raise
            await self.conn.execute("COMMIT")

    async def read(self, sql: str, args: Iterable[Any] = ()) -> list[Any]:
        return list(await self.conn.execute_fetchall(sql, tuple(args)))
