"""The bookkeeper's work list: order summaries (0007 ``work_summaries``) and the paged, filtered list.

Pages are keyset-paged newest first on ``(updated_at, key)`` — an index range scan whatever the page
number, so the 2,000th page of 100,000 items costs what the first does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from agent.journal import Journal


@dataclass(frozen=True)
class Summary:
    number: str
    ordered_at: str  # ISO, GMT
    customer: str
    email: str
    total: str
    currency: str


@dataclass(frozen=True)
class ListFilter:
    state: str | None = None
    start: date | None = None  # order date, GMT, inclusive
    end: date | None = None  # exclusive
    text: str = ""
    before: tuple[float, str] | None = None  # cursor: (updated_at, key) of the last row shown


@dataclass(frozen=True)
class ListRow:
    key: str
    kind: str
    state: str
    attempts: int
    updated_at: float
    reason: str | None
    error: str | None
    number: str | None
    ordered_at: str | None
    customer: str | None
    total: str | None
    currency: str | None
    document: str | None  # the invoice number (or draft id) in Dynaccount


class WorkListJournal:
    def __init__(self, journal: Journal) -> None:
        self._db = journal.db

    async def record(self, key: str, s: Summary) -> None:
        search = " ".join((s.number, s.customer, s.email)).lower()
        async with self._db.transaction() as conn:
            await conn.execute(
                "INSERT INTO work_summaries (key, number, ordered_at, customer, total, currency, search)"
                " VALUES (?,?,?,?,?,?,?) ON CONFLICT (key) DO UPDATE SET number = excluded.number,"
                " ordered_at = excluded.ordered_at, customer = excluded.customer, total = excluded.total,"
                " currency = excluded.currency, search = excluded.search",
                (key, s.number, s.ordered_at, s.customer, s.total, s.currency, search),
            )

    async def page(self, f: ListFilter, limit: int) -> list[ListRow]:
        where: list[str] = ["1 = 1"]
        args: list[Any] = []
        if f.state:
            where.append("w.state = ?")
            args.append(f.state)
        if f.start:
            where.append("s.ordered_at >= ?")
            args.append(f.start.isoformat())
        if f.end:
            where.append("s.ordered_at < ?")
            args.append(f.end.isoformat())
        if f.text.strip():
            where.append("(s.search LIKE ? ESCAPE '\\' OR w.key = ?)")
            args += [f"%{_escape_like(f.text.strip().lower())}%", f.text.strip()]
        if f.before:
            where.append("(w.updated_at, w.key) < (?, ?)")
            args += list(f.before)
        rows = await self._db.read(
            "SELECT w.key, w.kind, w.state, w.attempts, w.updated_at, w.reason, w.error, s.number, s.ordered_at,"
            " s.customer, s.total, s.currency, COALESCE(l.dyn_number, CASE WHEN l.dyn_id IS NOT NULL"
            " THEN 'draft ' || l.dyn_id END) AS document"
            " FROM work_items w LEFT JOIN work_summaries s ON s.key = w.key"
            " LEFT JOIN links l ON l.kind = w.kind AND l.woo_id = w.resource_id"
            f" WHERE {' AND '.join(where)} ORDER BY w.updated_at DESC, w.key DESC LIMIT ?",
            (*args, limit),
        )
        return [_row(r) for r in rows]

    async def plan_of(self, f: ListFilter) -> list[str]:
        """SQLite's query plan for a page (tests check the list never scans the whole table)."""
        rows = await self._db.read("EXPLAIN QUERY PLAN SELECT w.key FROM work_items w WHERE w.state = ?"
                                   " AND (w.updated_at, w.key) < (?, ?) ORDER BY w.updated_at DESC, w.key DESC"
                                   " LIMIT 50", (f.state or "done", *(f.before or (1e18, ""))))  # fmt: skip
        return [str(r[3]) for r in rows]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _row(r: Any) -> ListRow:
    return ListRow(r["key"], r["kind"], r["state"], r["attempts"], r["updated_at"], r["reason"], r["error"],
                   r["number"], r["ordered_at"], r["customer"], r["total"], r["currency"], r["document"])  # fmt: skip
