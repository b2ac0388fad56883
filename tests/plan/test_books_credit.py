"""Issue 12 for credit notes: total = the refund's amount, VAT per code = the refund's own ``tax_lines``,
full refunds credit the invoice exactly (rounding line included, negative lines first), kept fees."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from agent.plan import (
    CreditNoteContext,
    CreditNotePlan,
    InvoiceContext,
    InvoicePlan,
    InvoiceState,
    PlanSettings,
    Skip,
    plan_creditnote,
    plan_invoice,
)
from agent.woo.models import Order

from .books import booked_total, booked_vat, paid_vat
from .helpers import shown
from .shapes import Cart, Coupon, Item, build_order, build_refund

D = Decimal
KRUS = Item("Krus", "99", 1, "KRUS")
BOOK = Item("Buch", "107", 2, "BUCH", tax_class="reduced-rate")


def _invoice(order: Order) -> InvoiceState:
    plan = plan_invoice(order, PlanSettings())
    assert isinstance(plan, InvoicePlan) and plan.held is None, plan
    return InvoiceState.from_plan(plan, booked=True, payment_registered=True)


@dataclass
class Case:
    id: str
    cart: Cart
    refund: dict[str, Any]
    kept: str = "0.00"
    check: Callable[[CreditNotePlan, InvoiceState], None] | None = None


def _full(plan: CreditNotePlan, invoice: InvoiceState) -> None:
    assert plan.full_refund and plan.totals.total == invoice.total
    assert {li.source for li in plan.lines} >= {li.source for li in invoice.lines}
    negative = [li.gross < 0 for li in plan.lines]
    assert negative == sorted(negative, reverse=True), "negative lines (rounding) come first (A-37)"
    running = D(0)
    for line in plan.lines:  # so a Dynaccount checking the running sum never sees it pass the invoice
        running += line.gross
        assert running <= invoice.total


def _kept_line(plan: CreditNotePlan, invoice: InvoiceState) -> None:
    kept = [li for li in plan.lines if li.kind == "kept"]
    assert kept and all(li.product == "RESTOCKING" and li.gross < 0 for li in kept)
    assert plan.lines[0].kind in ("kept", "rounding")



CASES = [
    Case("reduced-rate-line", Cart([BOOK, KRUS], country="DE", shipping=[("DHL", "60.00")]), {"items": {1: 1}}),
    Case("reduced-and-standard-with-shipping", Cart([BOOK, KRUS], country="DE", shipping=[("DHL", "60.00")]),
         {"items": {1: 2, 2: 1}, "shipping": (3,)}),
    Case("fr-5.5-partial-qty", Cart([Item("Livre", "21.10", 3, "LIVRE", tax_class="reduced-rate")], country="FR"),
         {"items": {1: 2}}),
    Case("half-øre-shipping-refund", Cart([KRUS], shipping=[("GLS", "39.50")]), {"shipping": (2,)}),
    Case("excl-shop-line", Cart([Item("Kop", "33.33", 3, "KOP")], coupons=[Coupon("ti", "percent", "10")],
         excl=True), {"items": {1: 1}}),
    # 7. a refund that pays back less than its lines: the shop kept a restocking fee
    Case("kept-restocking-fee", Cart([KRUS, Item("Krus", "149", 1, "KRUS2")]), {"items": {1: 1}, "kept": "10.00"},
         kept="10.00", check=_kept_line),
    Case("kept-fee-two-codes", Cart([BOOK, KRUS], country="DE"), {"items": {1: 2, 2: 1}, "kept": "25.00"},
         kept="25.00", check=_kept_line),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_credit_note_books_to_the_øre(case: Case) -> None:
    order = build_order(case.cart)
    invoice = _invoice(order)
    args = dict(case.refund)
    kept = D(args.pop("kept", "0"))
    refund = build_refund(order, 41, **args)
    if kept:
        refund = refund.model_copy(update={"amount": refund.amount - kept})
    plan = plan_creditnote(order, refund, PlanSettings(), CreditNoteContext(invoice))
    assert isinstance(plan, CreditNotePlan), plan
    assert booked_total(plan.lines) == plan.totals.total == refund.amount
    kept_vat = {li.vat_code: li.vat for li in plan.lines if li.kind == "kept"}
    expected = paid_vat(refund.tax_lines, sign=-1)
    expected = {c: v + kept_vat.get(c, D(0)) for c, v in expected.items()}
    assert booked_vat(plan.lines) == {c: v for c, v in expected.items() if v}
    assert plan.kept_fee == D(case.kept)
    if case.check:
        case.check(plan, invoice)


@pytest.mark.parametrize("cart", [
    Cart([KRUS], shipping=[("GLS", "39.50")]),  # invoice with a +0.01 rounding line
    Cart([Item("Kop", "33.33", 3, "KOP")], shipping=[("GLS", "39.50")], fees=[("Gebyr", "9.995", True)]),
    Cart([BOOK, KRUS], country="DE", fees=[("Rabatt", "-15.00", True)], shipping=[("DHL", "60.00")]),
], ids=["rounding+0.01", "rounding-several", "negative-fee-two-rates"])  # fmt: skip
def test_full_refund_credits_exactly_the_invoice(cart: Cart) -> None:
    order = build_order(cart).model_copy(update={"status": "refunded"})
    invoice = _invoice(order)
    assert any(li.kind == "rounding" for li in invoice.lines) or cart.fees
    refund = build_refund(order, 42, items={li.id: int(li.quantity) for li in order.line_items},
                          shipping=tuple(s.id for s in order.shipping_lines), fees=tuple(f.id for f in order.fee_lines),
                          amount=str(order.total))  # fmt: skip
    plan = plan_creditnote(order, refund, PlanSettings(), CreditNoteContext(invoice))
    assert isinstance(plan, CreditNotePlan), plan
    _full(plan, invoice)
    assert booked_vat(plan.lines) == booked_vat(invoice.lines) == paid_vat(order.tax_lines)


def test_refunds_netted_into_a_draft_keep_vat_per_code_exact() -> None:
    """[refunds] draft_policy = update_draft: the draft of an order refunded later nets the refund."""
    order = build_order(Cart([BOOK, KRUS], country="DE", shipping=[("DHL", "60.00")]))
    refund = build_refund(order, 43, items={1: 1})
    refunded = order.model_copy(update={"status": "refunded"})
    from agent.plan import ExistingInvoice

    plan = plan_invoice(refunded, PlanSettings(), InvoiceContext(invoice=ExistingInvoice("woo/order-100", False),
                                                                 refunds=(refund,)))  # fmt: skip
    assert isinstance(plan, InvoicePlan) and plan.held is None, plan
    assert plan.refunds_netted == (43,) and booked_total(plan.lines) == order.total - refund.amount
    expected = paid_vat(order.tax_lines)
    for code, vat in paid_vat(refund.tax_lines).items():
        expected[code] = expected.get(code, D(0)) + vat
    assert booked_vat(plan.lines) == {c: v for c, v in expected.items() if v}


def test_refund_of_a_taxed_line_without_refund_tax_is_held_with_both_figures() -> None:
    order = build_order(Cart([KRUS, Item("Krus", "149", 1, "KRUS2")]))
    refund = build_refund(order, 44, items={1: 1})
    no_tax = refund.model_copy(update={
        "tax_lines": [], "amount": -refund.line_items[0].total,
        "line_items": [li.model_copy(update={"taxes": [], "total_tax": D(0)}) for li in refund.line_items]})
    plan = plan_creditnote(order, no_tax, PlanSettings(), CreditNoteContext(_invoice(order)))
    assert isinstance(plan, Skip) and plan.kind == "hold"
    assert "gives back 'Krus' without its VAT (no refund_tax)" in plan.reason, plan.reason


def test_shown_lines_of_a_kept_fee() -> None:
    order = build_order(Cart([KRUS]))
    refund = build_refund(order, 45, items={1: 1})
    refund = refund.model_copy(update={"amount": D("89.00")})
    plan = plan_creditnote(order, refund, PlanSettings(), CreditNoteContext(_invoice(order)))
    assert isinstance(plan, CreditNotePlan)
    assert shown(plan) == ["RESTOCKING 1×-8.00 K25", "KRUS 1×79.20 K25"]
    assert plan.totals.total == D("89.00") and plan.totals.vat == D("17.80")


def test_refund_tax_entered_far_below_the_rate_is_held_not_re_priced() -> None:
    """A refund whose refund_tax is far from the lines' rate is a disagreement for a human: the nets are
    never moved kroner away to force the VAT."""
    order = build_order(Cart([Item("Krus", "99", 4, "KRUS")]))
    refund = build_refund(order, 46, items={1: 4})
    line = refund.line_items[0]
    low = [t.model_copy(update={"total": t.total / 2}) for t in line.taxes]
    refund = refund.model_copy(update={
        "line_items": [line.model_copy(update={"taxes": low, "total_tax": line.total_tax / 2})],
        "tax_lines": [t.model_copy(update={"tax_total": t.tax_total / 2}) for t in refund.tax_lines],
        "amount": -(line.total + line.total_tax / 2)})  # fmt: skip
    plan = plan_creditnote(order, refund, PlanSettings(), CreditNoteContext(_invoice(order)))
    assert isinstance(plan, Skip) and plan.kind == "hold", plan
    assert "VAT per code: K25 79.20 vs WooCommerce 39.60" in plan.reason, plan.reason
