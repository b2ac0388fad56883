"""The demo's and the e2e tests' check of VAT per code: what Dynaccount booked (the sandbox computes each
line's VAT from its code's own rate) against what the customer paid (WooCommerce's ``tax_lines``).

Every tax line's rate must be the rate of the code its VAT was booked on, and per code the booked VAT
must equal ``tax_total + shipping_tax_total`` of the tax lines mapped to it: for invoices the order's,
for credit notes the refund's own (a full refund: the order's, as it credits the invoice exactly).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from agent.dynaccount import assumptions as A
from agent.plan.settings import PlanSettings, VatSettings
from agent.plan.vat import map_tax_line
from agent.sandbox.dynaccount.store import Store
from agent.woo.models import Order, Refund, TaxLine

ZERO = Decimal("0.00")


def booked_vat(store: Store, line_table: str, parent_column: str, parent_id: int) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for line in store.where(line_table, parent_column, parent_id):
        code = str(line.get("vatcode_name") or "")
        out[code] = out.get(code, ZERO) + Decimal(str(line["vat_amount"]))
    return {code: vat for code, vat in out.items() if vat}


def paid_vat(tax_lines: Sequence[TaxLine], vat: VatSettings, store: Store,
             sign: int = 1) -> tuple[dict[str, Decimal], list[str]]:  # fmt: skip
    """(VAT per code the customer paid, problems): a tax line whose code is missing or of another rate."""
    out: dict[str, Decimal] = {}
    problems = []
    for line in tax_lines:
        code = map_tax_line(line, vat) or "?"
        row = store.find("vatcode", "name", code)
        if row is None or Decimal(str(row["rate"])) != line.rate_percent:
            problems.append(f"tax rate {line.rate_code} {line.rate_percent} % has no code of that rate ({code})")
        out[code] = out.get(code, ZERO) + sign * (line.tax_total + line.shipping_tax_total)
    return {code: v for code, v in out.items() if v}, problems


def _compare(what: str, booked: Mapping[str, Decimal], paid: Mapping[str, Decimal]) -> list[str]:
    if dict(booked) == dict(paid):
        return []
    return [f"{what}: VAT per code booked {dict(sorted(booked.items()))} vs paid {dict(sorted(paid.items()))}"]


def invoice_vat_problems(store: Store, invoice: Mapping[str, Any], order: Order, vat: VatSettings) -> list[str]:
    paid, problems = paid_vat(order.tax_lines, vat, store)
    booked = booked_vat(store, A.INVOICE_LINE_TABLE, "invoice_id", int(invoice["id"]))
    return problems + _compare(f"order {order.id}", booked, paid)


def creditnote_vat_problems(store: Store, note: Mapping[str, Any], refund: Refund, order: Order,
                            invoice_total: Decimal, settings: PlanSettings) -> list[str]:  # fmt: skip
    full = Decimal(str(note["total_amount"])) == invoice_total
    if not full and not (refund.line_items or refund.shipping_lines or refund.fee_lines):
        return []  # amount-only: WooCommerce states no VAT; the invoice's proportions are the rule
    kept = {} if full else _kept_vat(store, int(note["id"]), settings.products.kept_fee)
    paid, problems = paid_vat(order.tax_lines if full else refund.tax_lines, settings.vat, store,
                              1 if full else -1)  # fmt: skip
    for code, amount in kept.items():
        paid[code] = paid.get(code, ZERO) + amount
    booked = booked_vat(store, A.CREDITNOTE_LINE_TABLE, "creditnote_id", int(note["id"]))
    return problems + _compare(f"refund {refund.id}", booked, {c: v for c, v in paid.items() if v})


def _kept_vat(store: Store, note_id: int, product: str) -> dict[str, Decimal]:
    """VAT of kept-fee lines (negative): a restocking fee the shop kept reduces the refunded VAT."""
    out: dict[str, Decimal] = {}
    for line in store.where(A.CREDITNOTE_LINE_TABLE, "creditnote_id", note_id):
        if line.get("product_id_") == product:
            code = str(line["vatcode_name"])
            out[code] = out.get(code, ZERO) + Decimal(str(line["vat_amount"]))
    return out
