"""The mail of an order's invoice as it would be (or was) rendered, without sending anything."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from agent.config_mail import MailConfig
from agent.journal import Journal
from agent.journal.mail import MailJournal
from agent.mail.context import Document, invoice_context, pick_language
from agent.mail.render import Rendered, render
from agent.plan.types import to_jsonable

if TYPE_CHECKING:
    import jinja2  # Jinja is imported when mail is rendered, not at start (issue 17: idle RSS)


class NothingToPreview(Exception):
    """The order has no invoice the agent knows of."""


async def preview_context(journal: Journal, cfg: MailConfig, order_id: int) -> tuple[str, dict[str, Any]]:
    """(language, context): the outbox row's frozen context when the mail exists, else one built from
    the invoice as the journal knows it (numbers as booked; the due date only Dynaccount knows)."""
    link = await journal.get_link("order", order_id)
    if link is None or "plan" not in link.data:
        raise NothingToPreview(f"order {order_id} has no invoice in the journal")
    plan = link.data["plan"]
    mail = await MailJournal(journal).get(link.reference or "")
    if mail is not None and mail.context:
        return mail.language, mail.context
    total = Decimal(link.amount or plan.get("totals", {}).get("total", "0"))
    vat = Decimal(str(link.data.get("vat") or plan.get("totals", {}).get("vat", "0")))
    number = int(link.dyn_number) if link.dyn_number and link.dyn_number.isdigit() else None
    doc = Document("invoice", number, int(link.updated_at), None, total, vat, str(plan.get("currency", "")))
    snapshot = await journal.latest_snapshot(f"order:{order_id}")
    order = snapshot[0] if snapshot and isinstance(snapshot[0], dict) else {}
    language = pick_language(str(plan.get("debtor", {}).get("language", "")), cfg.default_language)
    return language, to_jsonable(invoice_context(cfg, plan, doc, order, language))


async def preview(journal: Journal, cfg: MailConfig, env: jinja2.Environment, order_id: int) -> Rendered:
    language, context = await preview_context(journal, cfg, order_id)
    return render(env, "invoice", language, context)
