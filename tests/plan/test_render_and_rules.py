"""render_plan text, settings defaults/TOML, money helpers, and the shape builder against real orders."""

from __future__ import annotations

import json
import tomllib
from decimal import Decimal

import pytest
from pydantic import ValidationError

from agent.plan import (
    CreditNoteContext,
    InvoicePlan,
    InvoiceState,
    PlanSettings,
    Skip,
    plan_creditnote,
    plan_invoice,
    render_plan,
)
from agent.plan.money import allocate, net_for_gross, split_price
from agent.woo.models import Order

from .helpers import order17, order19, refund18
from .shapes import Cart, Coupon, Item, build_order, order_json

D = Decimal


def test_render_invoice_shows_the_key_facts() -> None:
    plan = plan_invoice(build_order(Cart([Item("Krus", "99", 1, "KRUS")], shipping=[("GLS", "39.50")])),
                        PlanSettings())  # fmt: skip
    text = render_plan(plan)
    for fact in ("Invoice for order 100 (woo/order-100), booked", "Debtor: B2C group 'B2C'", "match by email",
                 "KRUS", "K25", "SHIPPING", "ROUNDING", "rounding line 0.01", "total 148.37",
                 "Payment: register 148.37", "Terms: Kontant", "VAT K25               29.67   WooCommerce      29.67"):  # fmt: skip
        assert fact in text, fact


def test_render_credit_note_and_skip() -> None:
    invoice = plan_invoice(order17(), PlanSettings())
    assert isinstance(invoice, InvoicePlan)
    plan = plan_creditnote(order17(), refund18(), PlanSettings(), CreditNoteContext(InvoiceState.from_plan(
        invoice, booked=True)))  # fmt: skip
    text = render_plan(plan)
    assert "Credit note for refund 18 (woo/refund-18), invoice woo/order-17" in text
    assert "KRUS-001" in text and "total 89.10" in text and "Payout: none" in text
    skip = Skip(17, "hold", "no VAT code is mapped", refund_id=None)
    assert render_plan(skip) == "HOLD: order 17: no VAT code is mapped\n"


def test_render_held_invoice_names_the_figures() -> None:
    plan = plan_invoice(order19().model_copy(update={"total": D("250.00")}), PlanSettings())
    assert "HELD as draft" in render_plan(plan) and "Woo 250.00" in render_plan(plan)


def test_invoice_plan_is_json_serialisable_without_floats() -> None:
    plan = plan_invoice(order17(), PlanSettings())
    assert isinstance(plan, InvoicePlan)
    data = json.loads(json.dumps(plan.to_dict()))
    assert data["type"] == "invoice" and data["totals"]["total"] == "428.80"
    assert data["debtor"]["allocate_from"] == 10000 and data["lines"][0]["discount_percent"] == "10.00"


def test_settings_defaults() -> None:
    s = PlanSettings()
    assert s.triggers.order_statuses == ["processing", "completed"]
    assert (s.debtors.b2c.group, s.debtors.b2b.group, s.debtors.ean.group) == ("B2C", "B2B", "EAN")
    assert s.debtors.vat_number_meta_keys[0] == "_billing_vat_number"
    assert (s.products.fallback, s.products.shipping, s.products.rounding, s.products.refund) == (
        "MISC", "SHIPPING", "ROUNDING", "REFUND")  # fmt: skip
    assert s.invoice.rounding_tolerance == D("0.05") and s.invoice.default_payment_terms == "Netto 8"
    assert s.payments.registration_by_method["bacs"] == "on_date_paid"
    assert s.payments.registration_by_method["stripe"] == "at_once"
    assert s.refunds.draft_policy == "update_draft"


def test_settings_from_toml_and_unknown_keys_refused() -> None:
    raw = tomllib.loads("""
[invoice]
rounding_tolerance = "0.10"
coupons = "discount_line"
[vat.by_rate_id]
"6" = "K12"
[debtors.b2c]
group = "Web"
match = "shared"
shared_number = 999
""")
    s = PlanSettings.model_validate(raw)
    assert s.invoice.rounding_tolerance == D("0.10") and s.vat.by_rate_id == {"6": "K12"}
    assert all(f.description for f in PlanSettings.model_fields.values())
    with pytest.raises(ValidationError):
        PlanSettings.model_validate({"invoice": {"tolerance": "1"}})
    with pytest.raises(ValidationError):
        PlanSettings.model_validate({"debtors": {"b2c": {"group": "Web", "match": "shared"}}})


@pytest.mark.parametrize(("qty", "net", "parts"), [
    ("3", "79.99", [("2", "26.66"), ("1", "26.67")]),
    ("2", "158.40", [("2", "79.20")]),
    ("3", "-10.00", [("1", "-3.34"), ("2", "-3.33")]),
])  # fmt: skip
def test_split_price_is_exact(qty: str, net: str, parts: list[tuple[str, str]]) -> None:
    got = split_price(D(qty), D(net))
    assert [(str(q), str(p)) for q, p in got] == parts
    assert sum(q * p for q, p in got) == D(net)


def test_allocate_and_net_for_gross() -> None:
    assert allocate(D("10.00"), [D(1), D(1), D(1)]) == [D("3.34"), D("3.33"), D("3.33")]
    assert allocate(D("50.00"), [D("99"), D("100")]) == [D("24.87"), D("25.13")]
    assert net_for_gross(D("50.00"), D(25)) == D("40.00")
    assert net_for_gross(D("89.10"), D(25)) == D("71.28")


FIELDS = ("total", "total_tax", "cart_tax", "shipping_tax", "discount_total", "discount_tax")
CROSS_CHECK = [
    Cart([Item("A", "100", 1, "A"), Item("B", "50", 2, "B")], coupons=[Coupon("x", "fixed_cart", "30")]),
    Cart([Item("Krus", "99", 3, "K")], coupons=[Coupon("x", "fixed_product", "10")]),
    Cart([Item("Kop", "33.33", 3, "KOP")]),
    Cart([Item("Krus", "99", 1, "K")], shipping=[("GLS", "39.50")], fees=[("Gebyr", "20.00", True)]),
    Cart([Item("Krus", "99", 2, "K")], fees=[("Rabat", "-16.00", True)]),
    Cart([Item("Krus", "79", 1, "K")], country="FR"),
    Cart([Item("Krus", "99", 1, "K")], shipping=[("Posten", "50.00")], country="NO"),
    Cart([Item("Krus", "99", 1, "K")], country="DE", meta={"_billing_vat_number": "DE1", "is_vat_exempt": "yes"}),
    Cart([Item("Bog", "100", 1, "BOG", tax_class="zero-rate"), Item("Krus", "99", 1, "K")]),
]


@pytest.mark.parametrize("cart", CROSS_CHECK)
def test_sandbox_checkout_and_hand_reading_of_spec_agree(cart: Cart) -> None:
    sandbox, hand = build_order(cart), Order.model_validate(order_json(cart))
    assert [getattr(sandbox, f) for f in FIELDS] == [getattr(hand, f) for f in FIELDS]
    assert [(i.subtotal, i.total, i.total_tax) for i in sandbox.line_items] == [
        (i.subtotal, i.total, i.total_tax) for i in hand.line_items]
    assert sorted((t.rate_id, t.tax_total, t.shipping_tax_total) for t in sandbox.tax_lines) == sorted(
        (t.rate_id, t.tax_total, t.shipping_tax_total) for t in hand.tax_lines)


def test_shape_builder_reproduces_real_orders() -> None:
    dk = build_order(Cart([Item("Kaffekrus", "99", 2, "KRUS-001"), Item("T-shirt - S", "199", 1, "TSHIRT-S"),
                           Item("Gaveindpakning", "25", 1, "GAVE-001")], coupons=[Coupon("velkommen10", "percent",
                           "10")], shipping=[("GLS Pakkeshop", "39.20")]))  # fmt: skip
    de = build_order(Cart([Item("T-shirt - M", "199", 1, "TSHIRT-M")], shipping=[("DHL", "60.00")], country="DE"))
    for built, real in ((dk, order17()), (de, order19())):
        assert [getattr(built, f) for f in FIELDS] == [getattr(real, f) for f in FIELDS]
        assert [(i.subtotal, i.total, i.total_tax) for i in built.line_items] == [
            (i.subtotal, i.total, i.total_tax) for i in real.line_items]  # fmt: skip
