"""Template checks at start and in ``dynaccount-agent check``: every template is rendered once with
a sample of each context, so a typo or an unknown variable shows up before the first sale."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from agent.config_mail import MailConfig
from agent.mail.context import Document, creditnote_context, invoice_context
from agent.mail.render import CUSTOMER_KINDS, LANGUAGES, TemplateError, render, render_file

if TYPE_CHECKING:
    import jinja2  # Jinja is imported when mail is rendered, not at start (issue 17: idle RSS)

SAMPLE_PLAN: dict[str, Any] = {
    "order_id": 1001, "order_number": "1001", "reference": "woo/order-1001", "currency": "DKK",
    "date": "2026-03-01T10:00:00", "payment_terms": "Netto 8",
    "debtor": {"name": "Jens Hansen", "company": "", "attention": "", "email": "jens@example.dk", "phone": "",
               "address": "Vestergade 1", "zip": "8000", "city": "Aarhus C", "country": "DK", "vat_number": "",
               "ean": "", "group": "B2C", "kind": "b2c", "language": "da"},
    "lines": [{"name": "Kaffe <Espresso> & co", "product": "KAFFE", "qty": "2", "unit_price": "80.00",
               "vat_code": "U25", "vat_rate": "25", "net": "160.00", "vat": "40.00"}],
    "payment": {"register": False, "method": "bacs"},
}  # fmt: skip
SAMPLE_NOTE: dict[str, Any] = {**SAMPLE_PLAN, "reference": "woo/refund-5", "refund_id": 5}
SAMPLE_TOTAL, SAMPLE_VAT = Decimal("200.00"), Decimal("40.00")


def sample_contexts(cfg: MailConfig, language: str) -> dict[str, dict[str, Any]]:
    doc = Document("invoice", 1042, 1_772_000_000, 1_772_700_000, SAMPLE_TOTAL, SAMPLE_VAT, "DKK")
    note = Document("creditnote", 1043, 1_772_100_000, None, SAMPLE_TOTAL, SAMPLE_VAT, "DKK")
    alert = {"event": "start", "language": language, "agent": {"name": "Shop", "status_url": "http://127.0.0.1/"},
             "incidents": [{"key": "dynaccount-down", "title": "Dynaccount is unreachable", "detail": "timeout",
                            "since": "2026-03-01T10:00:00Z", "until": None}]}  # fmt: skip
    return {
        "invoice": invoice_context(cfg, SAMPLE_PLAN, doc, {}, language),
        "creditnote": creditnote_context(cfg, SAMPLE_PLAN, 1042, SAMPLE_NOTE, note, {}, language),
        "alert": alert,
    }


def check_templates(env: jinja2.Environment, cfg: MailConfig | None = None) -> list[str]:
    """Every problem with the templates in use (the shop's own first, then the shipped ones)."""
    cfg = cfg or MailConfig()
    problems = []
    for language in LANGUAGES:
        for kind, context in sample_contexts(cfg, language).items():
            for event in ("start", "end", "digest") if kind == "alert" else ("",):
                try:
                    render(env, kind, language, {**context, "event": event} if event else context)
                except TemplateError as exc:
                    problems.append(str(exc))
            if kind in CUSTOMER_KINDS:  # the HTML part on its own too: one error must not hide another
                try:
                    render_file(env, f"{language}/{kind}.html", context)
                except TemplateError as exc:
                    problems.append(str(exc))
    return sorted(set(problems))



