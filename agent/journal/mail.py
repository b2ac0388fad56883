"""The journal's mail tables: the outbox and the owner's alert incidents.

All SQL of the mail room lives here, in transactions of the :class:`~agent.journal.Journal` it wraps.
An outbox row is keyed by the document's deterministic reference, so a second enqueue of the same
invoice (restart, retry, replay, re-import) finds the row and adds nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import aiosqlite

from agent.clock import iso
from agent.journal import Journal

MAIL_STATES = ("queued", "sending", "sent", "failed", "unknown", "skipped")
RESENDABLE = ("failed", "unknown", "sent")


@dataclass(frozen=True)
class NewMail:
    reference: str
    kind: str  # invoice | creditnote | alert
    recipient: str
    language: str
    message_id: str
    context: dict[str, Any]
    work_key: str | None = None
    number: str | None = None
    state: str = "queued"  # or skipped, with the reason in error
    error: str | None = None


@dataclass(frozen=True)
class OutboxMail:
    reference: str
    kind: str
    work_key: str | None
    number: str | None
    recipient: str
    language: str
    message_id: str
    context: dict[str, Any]
    state: str
    attempts: int
    due_at: float
    created_at: float
    updated_at: float
    sent_at: float | None
    error: str | None
    reply: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "reference": self.reference, "kind": self.kind, "work_key": self.work_key, "number": self.number,
            "recipient": self.recipient, "language": self.language, "message_id": self.message_id,
            "state": self.state, "attempts": self.attempts, "sent_at": iso(self.sent_at) if self.sent_at else None,
            "updated_at": iso(self.updated_at), "error": self.error, "reply": self.reply,
            "resendable": self.state in RESENDABLE,
        }  # fmt: skip


@dataclass(frozen=True)
class Incident:
    id: int
    key: str
    title: str
    detail: str
    first_seen: float
    last_seen: float
    announced: bool


def _mail(row: Any) -> OutboxMail:
    return OutboxMail(
        reference=row["reference"], kind=row["kind"], work_key=row["work_key"], number=row["number"],
        recipient=row["recipient"], language=row["language"], message_id=row["message_id"],
        context=json.loads(row["context"]), state=row["state"], attempts=row["attempts"], due_at=row["due_at"],
        created_at=row["created_at"], updated_at=row["updated_at"], sent_at=row["sent_at"], error=row["error"],
        reply=row["reply"],
    )  # fmt: skip


def _incident(row: Any) -> Incident:
    return Incident(
        id=row["id"], key=row["key"], title=row["title"], detail=row["detail"], first_seen=row["first_seen"],
        last_seen=row["last_seen"], announced=bool(row["announced"]),
    )  # fmt: skip


class MailJournal:
    def __init__(self, journal: Journal) -> None:
        self._db = journal.db

    def _now(self) -> float:
        return self._db.clock.now()

    # -- the outbox ---------------------------------------------------------------------------------

    async def _insert(self, conn: aiosqlite.Connection, mail: NewMail, now: float) -> bool:
        cur = await conn.execute(
            "INSERT INTO mail_outbox (reference, kind, work_key, number, recipient, language, message_id, context,"
            " state, due_at, created_at, updated_at, error) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"
            " ON CONFLICT (reference) DO NOTHING",
            (mail.reference, mail.kind, mail.work_key, mail.number, mail.recipient, mail.language, mail.message_id,
             json.dumps(mail.context, default=str), mail.state, now, now, now, mail.error),
        )  # fmt: skip
        return cur.rowcount > 0

    async def enqueue(self, mail: NewMail) -> bool:
        """Put a mail in the outbox once; False when its reference is already there (in any state)."""
        async with self._db.transaction() as conn:
            return await self._insert(conn, mail, self._now())

    async def due(self, limit: int) -> list[OutboxMail]:
        rows = await self._db.read(
            "SELECT * FROM mail_outbox WHERE state = 'queued' AND due_at <= ? ORDER BY due_at, reference LIMIT ?",
            (self._now(), limit),
        )
        return [_mail(r) for r in rows]

    async def next_due_at(self) -> float | None:
        rows = await self._db.read("SELECT MIN(due_at) FROM mail_outbox WHERE state = 'queued'")
        value = next(iter(rows))[0] if rows else None
        return float(value) if value is not None else None

    async def _set(self, reference: str, sql: str, args: tuple[Any, ...], *, only: str | None = None) -> bool:
        where = " AND state = ?" if only else ""
        async with self._db.transaction() as conn:
            cur = await conn.execute(
                f"UPDATE mail_outbox SET {sql}, updated_at = ? WHERE reference = ?{where}",
                (*args, self._now(), reference, *((only,) if only else ())),
            )
            return cur.rowcount > 0

    async def mark_sending(self, reference: str) -> None:
        """Written (and committed) before DATA: after a crash this row says the mail may have gone out."""
        await self._set(reference, "state = 'sending', attempts = attempts + 1", ())

    async def mark_sent(self, reference: str, reply: str) -> None:
        await self._set(reference, "state = 'sent', sent_at = ?, reply = ?, error = NULL", (self._now(), reply))

    async def retry(self, reference: str, error: str, due_at: float, *, counted: bool) -> None:
        """Back to the queue after a 4xx or a connection error; ``counted`` when DATA was not reached."""
        bump = ", attempts = attempts + 1" if counted else ""
        await self._set(reference, f"state = 'queued', due_at = ?, error = ?{bump}", (due_at, error))

    async def fail(self, reference: str, error: str, *, counted: bool = False) -> None:
        bump = ", attempts = attempts + 1" if counted else ""
        await self._set(reference, f"state = 'failed', error = ?{bump}", (error,))

    async def mark_unknown(self, reference: str, error: str) -> None:
        await self._set(reference, "state = 'unknown', error = ?", (error,))

    async def recover_sending(self) -> list[str]:
        """At start: a row still 'sending' was interrupted between DATA and the server's answer being
        recorded. The mail may or may not have arrived; it is never sent again without a human."""
        async with self._db.transaction() as conn:
            rows = await conn.execute_fetchall(
                "UPDATE mail_outbox SET state = 'unknown', updated_at = ?, error = ? WHERE state = 'sending'"
                " RETURNING reference",
                (self._now(), "the agent stopped while the server was receiving this mail: check and resend"),
            )
        return [str(r[0]) for r in rows]

    async def resend(self, reference: str) -> bool:
        """The owner's resend button: a failed, unknown or sent mail goes out again, now."""
        now = self._now()
        async with self._db.transaction() as conn:
            cur = await conn.execute(
                "UPDATE mail_outbox SET state = 'queued', due_at = ?, attempts = 0, error = NULL, updated_at = ?"
                f" WHERE reference = ? AND state IN ({','.join('?' * len(RESENDABLE))})",
                (now, now, reference, *RESENDABLE),
            )
            return cur.rowcount > 0

    async def get(self, reference: str) -> OutboxMail | None:
        rows = await self._db.read("SELECT * FROM mail_outbox WHERE reference = ?", (reference,))
        return _mail(next(iter(rows))) if rows else None

    async def for_work(self, work_key: str) -> list[OutboxMail]:
        rows = await self._db.read(
            "SELECT * FROM mail_outbox WHERE work_key = ? ORDER BY created_at, reference", (work_key,)
        )
        return [_mail(r) for r in rows]

    async def recent(self, *, state: str | None = None, limit: int = 100) -> list[OutboxMail]:
        where, args = ("WHERE state = ?", (state,)) if state else ("", ())
        rows = await self._db.read(
            f"SELECT * FROM mail_outbox {where} ORDER BY updated_at DESC, reference LIMIT ?", (*args, limit)
        )
        return [_mail(r) for r in rows]

    async def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(MAIL_STATES, 0)
        for state, n in await self._db.read("SELECT state, COUNT(*) FROM mail_outbox GROUP BY state"):
            counts[str(state)] = int(n)
        return counts

    # -- alert incidents ------------------------------------------------------------------------------

    async def open_incidents(self) -> list[Incident]:
        rows = await self._db.read(
            "SELECT * FROM alert_incidents WHERE ended_at IS NULL ORDER BY first_seen, key"
        )
        return [_incident(r) for r in rows]

    async def see_incident(self, key: str, title: str, detail: str) -> None:
        """Open the incident ``key`` or refresh the open one (its detail may have changed)."""
        now = self._now()
        async with self._db.transaction() as conn:
            cur = await conn.execute(
                "UPDATE alert_incidents SET last_seen = ?, detail = ?, title = ? WHERE key = ? AND ended_at IS NULL",
                (now, detail, title, key),
            )
            if cur.rowcount == 0:
                await conn.execute(
                    "INSERT INTO alert_incidents (key, title, detail, first_seen, last_seen) VALUES (?,?,?,?,?)",
                    (key, title, detail, now, now),
                )

    async def announce_incident(self, incident_id: int, mail: NewMail) -> None:
        """The start mail and the incident's 'announced' mark in one transaction: exactly one start mail."""
        async with self._db.transaction() as conn:
            await self._insert(conn, mail, self._now())
            await conn.execute("UPDATE alert_incidents SET announced = 1 WHERE id = ?", (incident_id,))

    async def close_incident(self, incident_id: int, mail: NewMail | None) -> None:
        """End an incident; the end mail (only for an announced one) in the same transaction."""
        now = self._now()
        async with self._db.transaction() as conn:
            if mail is not None:
                await self._insert(conn, mail, now)
            await conn.execute("UPDATE alert_incidents SET ended_at = ? WHERE id = ?", (now, incident_id))
