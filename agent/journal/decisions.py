"""The approval queue's SQL: decisions on held items and mapping overrides (tables of 0007)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from agent.journal import Journal


@dataclass(frozen=True)
class Decision:
    id: int
    work_key: str
    action: str  # approve | dismiss | replan
    by: str
    at: float
    reason: str | None
    data: dict[str, Any]


@dataclass(frozen=True)
class Override:
    key: str  # by_rate_id:<id> | by_country_rate:<CC:percent>
    vatcode: str
    by: str
    at: float


class DecisionJournal:
    def __init__(self, journal: Journal) -> None:
        self._db = journal.db
        self._clock = journal.db.clock

    async def record(self, work_key: str, action: str, by: str, *, reason: str | None = None,
                     data: dict[str, Any] | None = None) -> Decision:  # fmt: skip
        now = self._clock.now()
        async with self._db.transaction() as conn:
            cur = await conn.execute(
                "INSERT INTO decisions (work_key, action, decided_by, decided_at, reason, data) VALUES (?,?,?,?,?,?)",
                (work_key, action, by, now, reason, json.dumps(data or {}, default=str)),
            )
            row_id = int(cur.lastrowid or 0)
        return Decision(row_id, work_key, action, by, now, reason, data or {})

    async def latest(self, work_key: str) -> Decision | None:
        rows = await self._db.read(
            "SELECT * FROM decisions WHERE work_key = ? ORDER BY id DESC LIMIT 1", (work_key,)
        )
        return _decision(rows[0]) if rows else None

    async def latest_and_overrides(self, work_key: str) -> tuple[Decision | None, list[Override]]:
        rows = await self._db.read(
            "SELECT 'd', id, work_key, action, decided_by, decided_at, reason, data FROM"
            " (SELECT * FROM decisions WHERE work_key = ? ORDER BY id DESC LIMIT 1)"
            " UNION ALL SELECT 'o', 0, key, vatcode, decided_by, decided_at, NULL, NULL FROM mapping_overrides",
            (work_key,),
        )
        latest = [Decision(r[1], r[2], r[3], r[4], r[5], r[6], json.loads(r[7])) for r in rows if r[0] == "d"]
        overrides = [Override(r[2], r[3], r[4], r[5]) for r in rows if r[0] == "o"]
        return (latest[0] if latest else None), overrides

    async def history(self, work_key: str) -> list[Decision]:
        rows = await self._db.read("SELECT * FROM decisions WHERE work_key = ? ORDER BY id", (work_key,))
        return [_decision(r) for r in rows]

    async def set_override(self, key: str, vatcode: str, by: str) -> None:
        async with self._db.transaction() as conn:
            await conn.execute(
                "INSERT INTO mapping_overrides (key, vatcode, decided_by, decided_at) VALUES (?,?,?,?)"
                " ON CONFLICT (key) DO UPDATE SET vatcode = excluded.vatcode, decided_by = excluded.decided_by,"
                " decided_at = excluded.decided_at",
                (key, vatcode, by, self._clock.now()),
            )

    async def overrides(self) -> list[Override]:
        rows = await self._db.read("SELECT * FROM mapping_overrides ORDER BY key")
        return [Override(r["key"], r["vatcode"], r["decided_by"], r["decided_at"]) for r in rows]


def _decision(row: Any) -> Decision:
    return Decision(row["id"], row["work_key"], row["action"], row["decided_by"], row["decided_at"], row["reason"],
                    json.loads(row["data"]))  # fmt: skip
