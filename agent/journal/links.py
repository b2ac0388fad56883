"""Links (WooCommerce object ↔ Dynaccount object) and intents (a non-idempotent call about to be made).

Links and intents that belong to an order carry its id in an indexed ``order_id`` column, so
``order_facts`` reads all of an order's state in one call instead of scanning a kind.
"""

from __future__ import annotations

import json
from typing import Any

from agent.journal.db import Database
from agent.journal.types import Intent, Link, OrderFacts, intent_row, link_row


class LinkJournal:
    db: Database

    async def order_facts(self, order_id: int | str, *, namespace: str = "") -> OrderFacts:
        """The order's invoice, payment, refunds, payouts and intents (one read, by the order id index);
        ``namespace`` names a source other than WooCommerce (``file:``), see ``OrderFacts.namespace``."""
        facts = OrderFacts(int(order_id), namespace=namespace)
        for row in await self.db.read("SELECT * FROM links WHERE order_id = ?", (facts.key,)):
            facts.add(link_row(row))
        for row in await self.db.read("SELECT * FROM intents WHERE order_id = ?", (facts.key,)):
            facts.intents[row["key"]] = intent_row(row)
        return facts

    async def get_link(self, kind: str, woo_id: str | int) -> Link | None:
        rows = await self.db.read("SELECT * FROM links WHERE kind = ? AND woo_id = ?", (kind, str(woo_id)))
        return link_row(rows[0]) if rows else None

    # Named queries instead of a capped scan filtered in Python (a 10,000 cap hid an order's credit
    # notes once the journal held more links). Each is served by an index of migration 0008.

    async def draft_invoices(self) -> list[Link]:
        """Every invoice the agent left as a draft (the drafts watch asks Dynaccount about these)."""
        rows = await self.db.read("SELECT * FROM links WHERE kind = 'order' AND state = 'draft' ORDER BY woo_id")
        return [link_row(r) for r in rows]

    async def deleted_refunds(self) -> list[Link]:
        """Credited refunds that were deleted in WooCommerce (they need a human)."""
        rows = await self.db.read(
            "SELECT * FROM links WHERE kind = 'refund' AND state = 'deleted_in_woo' ORDER BY updated_at DESC"
        )
        return [link_row(r) for r in rows]

    async def document_references(self, not_prefix: str) -> list[tuple[str, str, str]]:
        """(kind, woo_id, reference) of every invoice and credit note whose reference does not start with
        ``not_prefix``: documents an earlier version made with the old format, still this shop's (issue 19)."""
        rows = await self.db.read(
            "SELECT kind, woo_id, reference FROM links WHERE kind IN ('order', 'refund')"
            " AND reference IS NOT NULL AND substr(reference, 1, ?) != ?",
            (len(not_prefix), not_prefix),
        )
        return [(str(r[0]), str(r[1]), str(r[2])) for r in rows]

    async def highest_debtor_number(self, low: int = 0, high: int | None = None) -> int | None:
        """The highest all-digit debtor number in [low, high] the journal has handed out or found
        (allocation starts above it; numbers outside this agent's range are another shop's)."""
        rows = await self.db.read(
            "SELECT MAX(CAST(dyn_number AS INTEGER)) FROM links WHERE kind = 'customer'"
            " AND dyn_number GLOB '[0-9]*' AND dyn_number NOT GLOB '*[^0-9]*'"
            " AND CAST(dyn_number AS INTEGER) BETWEEN ? AND ?",
            (low, high if high is not None else 2**63 - 1),
        )
        return int(rows[0][0]) if rows and rows[0][0] is not None else None

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
        order_id: str | int | None = None,
    ) -> Link:
        """Write a link and return it as stored (so a caller can keep its facts current)."""
        now = self.db.clock.now()
        async with self.db.transaction() as conn:
            rows = await conn.execute_fetchall(
                "INSERT INTO links (kind, woo_id, dyn_id, dyn_number, state, reference, amount, data, updated_at,"
                " order_id) VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT (kind, woo_id) DO UPDATE SET"
                " dyn_id = excluded.dyn_id, dyn_number = excluded.dyn_number, state = excluded.state,"
                " reference = excluded.reference, amount = excluded.amount, data = excluded.data,"
                " updated_at = excluded.updated_at, order_id = COALESCE(excluded.order_id, order_id) RETURNING *",
                (kind, str(woo_id), _opt(dyn_id), _opt(dyn_number), state, reference, amount,
                 json.dumps(data or {}, default=str), now, _opt(order_id)),
            )  # fmt: skip
        return link_row(next(iter(rows)))

    async def start_intent(self, key: str, *, order_id: str | int | None = None) -> Intent:
        """Record that a non-idempotent call is about to be made; returns the intent as now stored."""
        now = self.db.clock.now()
        async with self.db.transaction() as conn:
            rows = await conn.execute_fetchall(
                "INSERT INTO intents (key, state, attempts, started_at, order_id) VALUES (?, 'started', 1, ?, ?)"
                " ON CONFLICT (key) DO UPDATE SET attempts = attempts + 1, started_at = excluded.started_at,"
                " state = CASE WHEN state = 'done' THEN 'done' ELSE 'started' END,"
                " order_id = COALESCE(excluded.order_id, order_id) RETURNING *",
                (key, now, _opt(order_id)),
            )
        return intent_row(next(iter(rows)))

    async def finish_intent(self, key: str, result: str) -> Intent | None:
        now = self.db.clock.now()
        async with self.db.transaction() as conn:
            rows = await conn.execute_fetchall(
                "UPDATE intents SET state = 'done', finished_at = ?, result = ? WHERE key = ? RETURNING *",
                (now, result, key),
            )
        return intent_row(next(iter(rows))) if rows else None

    async def get_intent(self, key: str) -> Intent | None:
        rows = await self.db.read("SELECT * FROM intents WHERE key = ?", (key,))
        return intent_row(rows[0]) if rows else None


def _opt(value: str | int | None) -> str | None:
    return None if value is None else str(value)
