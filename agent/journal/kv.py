"""Small named values: sweep cursors and the like."""

from __future__ import annotations

from agent.journal.db import Database


class ValueJournal:
    db: Database

    async def get_value(self, key: str) -> str | None:
        rows = await self.db.read("SELECT value FROM kv WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else None

    async def set_value(self, key: str, value: str) -> None:
        now = self.db.clock.now()
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO kv (key, value, updated_at) VALUES (?,?,?) ON CONFLICT (key) DO UPDATE SET"
                " value = excluded.value, updated_at = excluded.updated_at",
                (key, value, now),
            )

    async def ping(self) -> bool:
        """The journal takes a write and answers a read (what /healthz reports)."""
        await self.db.check_write()
        return bool(await self.db.read("SELECT 1"))
