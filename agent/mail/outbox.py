"""Enqueue: a booked invoice (credit note) becomes one outbox row, keyed by its reference.

Called by the applier whenever it sees the document booked (first booking, a retry after a crash,
a replay): the row's primary key makes every call after the first a no-op, so one document gets at
most one mail. The render context is frozen here, from the plan the document was booked from.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from agent.clock import Clock
from agent.config_mail import MailConfig
from agent.dynaccount.models import CreditNote, Invoice
from agent.journal import Journal
from agent.journal.mail import MailJournal, NewMail
from agent.mail.context import Document, creditnote_context, invoice_context, pick_language
from agent.mail.render import message_id
from agent.mail.rules import skip_reason

log = logging.getLogger(__name__)


def doc_info_of(kind: str, doc: Invoice | CreditNote, currency: str) -> Document:
    due = doc.time_due if isinstance(doc, Invoice) else None
    return Document(kind, doc.number, doc.time, due, doc.total_amount, doc.vat_amount, currency)


class Mailer:
    def __init__(self, journal: Journal, cfg: MailConfig, clock: Clock) -> None:
        self._journal = journal
        self._outbox = MailJournal(journal)
        self._cfg = cfg
        self._clock = clock
        self.on_queued: Callable[[], None] = lambda: None

    async def _order(self, order_id: object) -> dict[str, Any]:
        snapshot = await self._journal.latest_snapshot(f"order:{order_id}")
        return snapshot[0] if snapshot and isinstance(snapshot[0], dict) else {}

    async def context_for(self, kind: str, plan: dict[str, Any], doc: Invoice | CreditNote) -> tuple[
            dict[str, Any], dict[str, Any]] | None:  # fmt: skip
        """(render context, debtor) of a booked document; None if its invoice is unknown."""
        order_id = plan["order_id"]
        order = await self._order(order_id)
        if kind == "invoice":
            debtor = plan.get("debtor", {})
            lang = pick_language(str(debtor.get("language", "")), self._cfg.default_language)
            doc_info = doc_info_of(kind, doc, str(plan.get("currency", "")))
            return invoice_context(self._cfg, plan, doc_info, order, lang), debtor
        link = await self._journal.get_link("order", order_id)
        if link is None or "plan" not in link.data:
            return None
        invoice_plan = link.data["plan"]
        debtor = invoice_plan.get("debtor", {})
        lang = pick_language(str(debtor.get("language", "")), self._cfg.default_language)
        doc_info = doc_info_of(kind, doc, str(invoice_plan.get("currency", "")))
        number = int(link.dyn_number) if link.dyn_number and link.dyn_number.isdigit() else None
        return creditnote_context(self._cfg, invoice_plan, number, plan, doc_info, order, lang), debtor

    async def on_booked(self, kind: str, plan: dict[str, Any], document: Invoice | CreditNote) -> None:
        """The applier's hook: ``kind`` is invoice or creditnote, ``plan`` the plan it was booked from."""
        doc = document
        wanted = self._cfg.send_invoices if kind == "invoice" else self._cfg.send_creditnotes
        if not wanted or not doc.is_booked or not plan.get("reference"):
            return
        reference = str(plan["reference"])
        if await self._outbox.get(reference) is not None:
            return  # already in the outbox: a retry, replay or re-import adds nothing
        try:
            built = await self.context_for(kind, plan, doc)
        except (KeyError, ValueError, TypeError) as exc:  # a booked invoice stays done; the mail shows why
            log.exception("mail for %s could not be prepared", reference)
            built = None
            error = f"the mail could not be prepared: {type(exc).__name__}: {exc}"
        else:
            error = "no invoice plan is known for this credit note"
        if built is None:
            await self._outbox.enqueue(NewMail(reference, kind, "", self._cfg.default_language,
                                               message_id(reference, self._cfg.from_address), {},
                                               f"order:{plan.get('order_id')}", str(doc.number), "failed", error))
            return
        context, debtor = built
        method = str(context["order"]["payment_method"] or "")
        reason = skip_reason(self._cfg, debtor, method)
        mail = NewMail(
            reference=reference, kind=kind, recipient=str(debtor.get("email") or "").strip(),
            language=context["language"], message_id=message_id(reference, self._cfg.from_address),
            context=context, work_key=f"order:{plan['order_id']}", number=str(doc.number),
            state="skipped" if reason else "queued", error=reason,
        )  # fmt: skip
        if await self._outbox.enqueue(mail):
            what = "invoice" if kind == "invoice" else "credit note"
            text = reason or f"{what} {doc.number} mail queued to {mail.recipient}"
            await self._journal.add_event(mail.work_key, text, data={"mail": reference})
            if not reason:
                self.on_queued()
