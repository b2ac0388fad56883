"""The pure planner: WooCommerce orders and refunds → Dynaccount invoices and credit notes.

No I/O: callers pass the current WooCommerce objects, the settings and what they know from the
journal (:class:`InvoiceContext`, :class:`CreditNoteContext`); the result is a frozen plan the
apply step executes, ``render_plan`` shows and the journal stores (``to_dict()``).
"""

from __future__ import annotations

from agent.plan.creditnote import plan_creditnote, record_credit
from agent.plan.invoice import plan_invoice
from agent.plan.render import render_plan
from agent.plan.settings import PlanSettings
from agent.plan.types import (
    Credited,
    CreditNoteContext,
    CreditNotePlan,
    DebtorDecision,
    ExistingInvoice,
    InvoiceContext,
    InvoicePlan,
    InvoiceState,
    PaymentDecision,
    PlanLine,
    ProductSync,
    Skip,
    Totals,
)

__all__ = [
    "CreditNoteContext", "CreditNotePlan", "Credited", "DebtorDecision", "ExistingInvoice", "InvoiceContext",
    "InvoicePlan", "InvoiceState", "PaymentDecision", "PlanLine", "PlanSettings", "ProductSync", "Skip", "Totals",
    "plan_creditnote", "plan_invoice", "record_credit", "render_plan",
]  # fmt: skip
