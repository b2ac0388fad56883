"""Plans turned into the Dynaccount client's input models (no I/O)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime

from agent.dynaccount.models import CreditLineIn, CreditNote, DebtorFields, Invoice, InvoiceHeader, LineIn
from agent.plan import CreditNotePlan, DebtorDecision, InvoicePlan, PlanLine


def unix(date: str | None, fallback: float) -> int:
    """WooCommerce's ``*_gmt`` dates (UTC without offset) as Unix seconds (A-16)."""
    if not date:
        return int(fallback)
    return int(datetime.fromisoformat(date).replace(tzinfo=UTC).timestamp())


def digest(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


def invoice_lines(lines: Sequence[PlanLine]) -> list[LineIn]:
    return [
        LineIn(product_id_=line.product, name=line.name, qty=line.qty, price=line.unit_price,
               vatcode_name=line.vat_code, discount_percent=line.discount_percent, txt=line.txt or None)
        for line in lines
    ]  # fmt: skip


def credit_lines(lines: Sequence[PlanLine]) -> list[CreditLineIn]:
    return [
        CreditLineIn(qty=line.qty, product_id_=line.product, price=line.unit_price, vatcode_name=line.vat_code,
                     name=line.name, discount_percent=line.discount_percent)
        for line in lines
    ]  # fmt: skip


def complete_creditnote(note: CreditNote, plan: CreditNotePlan) -> bool:
    return len(note.lines) == len(plan.lines) and note.total_amount == plan.totals.total


def same_lines(invoice: Invoice, wanted: Sequence[LineIn]) -> bool:
    have = [(li.product_id_, li.qty, li.price, li.vatcode_name) for li in invoice.lines]
    want = [(li.product_id_, li.qty, li.price, li.vatcode_name) for li in wanted]
    return sorted(map(str, have)) == sorted(map(str, want))


def debtor_fields(d: DebtorDecision, number: str) -> DebtorFields:
    dlv = d.delivery
    return DebtorFields(
        module_id_=number, name=d.company or d.name, module_group_name=d.group,
        attention_name=d.attention or None, address=d.address or None, zip=d.zip or None, city=d.city or None,
        ref_country_name=d.country or None, phone=d.phone or None, email=d.email or None,
        email_invoice=d.email or None, vatno=d.vat_number or None, ean=d.ean or None, lang=d.language or None,
        ref_currency_name=d.currency or None, dlv_name=dlv.name if dlv else None,
        dlv_address=dlv.address if dlv else None, dlv_zip=dlv.zip if dlv else None,
        dlv_city=dlv.city if dlv else None, dlv_ref_country_name=dlv.country if dlv else None,
    )  # fmt: skip


def invoice_header(plan: InvoicePlan, debtor_number: str, now: float) -> InvoiceHeader:
    d, dlv = plan.debtor, plan.debtor.delivery
    return InvoiceHeader(
        module_id_=debtor_number, time=unix(plan.date, now), currency_name=plan.currency,
        payment_name=plan.payment_terms, lang=d.language or None, attention=d.attention or None,
        address=d.address or None, zip=d.zip or None, city=d.city or None, ref_country_name=d.country or None,
        dlv_name=dlv.name if dlv else None, dlv_address=dlv.address if dlv else None,
        dlv_zip=dlv.zip if dlv else None, dlv_city=dlv.city if dlv else None,
        dlv_ref_country_name=dlv.country if dlv else None, txt=plan.text,
        time_delivery=unix(plan.delivery_date, 0) if plan.delivery_date else None,  # a renewal's period start
        dimension_name=plan.dimension or None,
    ).model_copy(update=dict(plan.header_fields))  # [mapping] invoice_fields, validated against the header's columns
