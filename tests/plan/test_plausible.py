"""The plausibility screen, pure (the sandbox tests are in tests/e2e/test_plausibility.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from agent.plan import CreditNoteContext, InvoicePlan, InvoiceState, PlanSettings, Skip, plan_creditnote, plan_invoice
from agent.plan.plausible import ImplausibleOrder, PlausibilitySettings

from .helpers import order17, refund18  # type: ignore[import-not-found]


def test_a_refund_that_cannot_be_money_fails_its_credit_note() -> None:
    invoice = plan_invoice(order17(), PlanSettings())
    assert isinstance(invoice, InvoicePlan)
    context = CreditNoteContext(InvoiceState.from_plan(invoice, booked=True))
    with pytest.raises(ImplausibleOrder, match=r"refund 18 field amount is 1,000,000,000,000,000,000,000,000,000,000\.00"):
        plan_creditnote(order17(), refund18().model_copy(update={"amount": Decimal("1e30")}), PlanSettings(), context)


def test_an_order_outside_the_bounds_is_held_with_the_setting_named() -> None:
    settings = PlanSettings(plausibility=PlausibilitySettings(max_order_total=Decimal("10")))
    held = plan_invoice(order17(), settings)
    assert isinstance(held, Skip) and held.kind == "hold"
    assert "max_order_total = 10.00" in held.reason and "check it in WooCommerce" in held.reason
    line = order17().line_items[0].model_copy(update={"quantity": Decimal("1.5")})
    half = plan_invoice(order17().model_copy(update={"line_items": [line]}), PlanSettings())
    assert isinstance(half, Skip) and "not a whole number" in half.reason
