"""The files room's SQL: imported files, the orders and credits built from them (migration 0011).

A whole import is one transaction: the file, its orders and credits and the work items that book
them, so a file is either stored with everything it says or not at all, and a crash half-way leaves
nothing to reconcile. The same bytes are found again by their SHA-256 (counted as another upload).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from agent.journal.db import Database
from agent.journal.types import Link, link_row
from agent.journal.work import CHANGED, reopen

NAMESPACE = "file:"  # order facts of a file order: link kinds file:order …, order_id file:<id>


@dataclass(frozen=True)
class NewFile:
    sha256: str
    name: str
    size: int
    mapping: str
    body: bytes


@dataclass(frozen=True)
class NewOrder:
    source: str
    number: str
    body: dict[str, Any] | None  # None: only credits (a credit-note file); the order must be known
    credits: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # credit key → credited lines


@dataclass(frozen=True)
class StoredFile:
    id: int
    name: str
    size: int
    mapping: str
    received_at: float
    uploads: int
    summary: dict[str, Any]


@dataclass(frozen=True)
class StoredCredit:
    id: int
    key: str
    lines: list[dict[str, Any]]


@dataclass(frozen=True)
class StoredOrder:
    id: int
    source: str
    number: str
    body: dict[str, Any]
    credits: list[StoredCredit]


@dataclass
class Recorded:
    file: StoredFile
    duplicate: bool
    changed: dict[str, str] = field(default_factory=dict)  # order number → new | changed | credited


def work_key(source: str, number: str) -> str:
    return f"file:{source}:{number}"


def _file(row: Any) -> StoredFile:
    return StoredFile(row["id"], row["name"], row["size"], row["mapping"], row["received_at"], row["uploads"],
                      json.loads(row["summary"]) if row["summary"] else {})  # fmt: skip


class FileJournal:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def find_file(self, sha256: str) -> StoredFile | None:
        rows = await self.db.read("SELECT * FROM import_files WHERE sha256 = ?", (sha256,))
        return _file(rows[0]) if rows else None

    async def recent_files(self, limit: int = 10) -> list[StoredFile]:
        rows = await self.db.read("SELECT * FROM import_files ORDER BY last_upload DESC, id DESC LIMIT ?", (limit,))
        return [_file(r) for r in rows]

    async def record(self, new: NewFile, orders: list[NewOrder]) -> Recorded:
        """Store the file, then its orders and credits and their work, in one transaction."""
        now = self.db.clock.now()
        async with self.db.transaction() as conn:
            rows = await conn.execute_fetchall(
                "INSERT INTO import_files (sha256, name, size, mapping, received_at, body, last_upload)"
                " VALUES (?,?,?,?,?,?,?) ON CONFLICT (sha256) DO UPDATE SET uploads = uploads + 1,"
                " last_upload = excluded.last_upload RETURNING *",
                (new.sha256, new.name, new.size, new.mapping, now, new.body, now),
            )  # fmt: skip
            stored = _file(next(iter(rows)))
            result = Recorded(stored, duplicate=stored.uploads > 1)
            if result.duplicate:
                return result  # the same bytes: every order and credit of it is already here
            for order in orders:
                what = await self._order(conn, stored.id, order, now)
                if what:
                    result.changed[order.number] = what
            # CHANGED: new lines or credits re-open even an item held or failed over the earlier file
            await reopen(conn, [(work_key(o.source, o.number), now, now, None, CHANGED)
                                for o in orders if o.number in result.changed])  # fmt: skip
        return result

    async def _order(self, conn: Any, file_id: int, order: NewOrder, now: float) -> str:
        """new | changed | credited | "" (nothing new: an overlapping file)."""
        rows = await conn.execute_fetchall("SELECT id, body FROM file_orders WHERE source = ? AND number = ?",
                                           (order.source, order.number))  # fmt: skip
        what = ""
        body = json.dumps(order.body, sort_keys=True) if order.body is not None else None
        if not rows:
            assert body is not None, "a credit for an unknown order is refused before recording"
            cur = await conn.execute(
                "INSERT INTO file_orders (source, number, file_id, body, updated_at) VALUES (?,?,?,?,?)",
                (order.source, order.number, file_id, body, now),
            )
            order_ref, what = int(cur.lastrowid), "new"
        else:
            order_ref = int(rows[0]["id"])
            if body is not None and body != rows[0]["body"]:
                await conn.execute("UPDATE file_orders SET body = ?, file_id = ?, updated_at = ? WHERE id = ?",
                                   (body, file_id, now, order_ref))  # fmt: skip
                what = "changed"
        for key, lines in order.credits.items():
            cur = await conn.execute(
                "INSERT INTO file_credits (order_ref, credit_key, file_id, body, created_at) VALUES (?,?,?,?,?)"
                " ON CONFLICT (order_ref, credit_key) DO NOTHING",
                (order_ref, key, file_id, json.dumps(lines), now),
            )
            if cur.rowcount:
                what = what or "credited"
        return what

    async def save_summary(self, file_id: int, summary: dict[str, Any]) -> None:
        async with self.db.transaction() as conn:
            await conn.execute("UPDATE import_files SET summary = ? WHERE id = ?", (json.dumps(summary), file_id))

    async def draft_work(self) -> list[tuple[Link, str]]:
        """Draft invoices of file orders, each with its order's work key (for the drafts watch)."""
        rows = await self.db.read(
            "SELECT l.*, f.source, f.number FROM links l JOIN file_orders f ON l.order_id = ? || f.id"
            " WHERE l.kind = ? AND l.state = 'draft'", (NAMESPACE, f"{NAMESPACE}order"),
        )  # fmt: skip
        return [(link_row(r), work_key(r["source"], r["number"])) for r in rows]

    async def order(self, source: str, number: str) -> StoredOrder | None:
        rows = await self.db.read("SELECT * FROM file_orders WHERE source = ? AND number = ?", (source, number))
        if not rows:
            return None
        credits = await self.db.read("SELECT * FROM file_credits WHERE order_ref = ? ORDER BY id", (rows[0]["id"],))
        return StoredOrder(
            rows[0]["id"], source, number, json.loads(rows[0]["body"]),
            [StoredCredit(c["id"], c["credit_key"], json.loads(c["body"])) for c in credits],
        )  # fmt: skip
