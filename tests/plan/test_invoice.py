"""Order shapes → invoice plans: lines, VAT codes and totals to the øre (issue 5)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest

from agent.plan import ExistingInvoice, InvoiceContext, InvoicePlan, PlanSettings, Skip, plan_invoice
from agent.woo.models import Order

from .helpers import order17, order19, settings, show, shown, synthetic
from .shapes import Cart, Coupon, Item, build_order

D = Decimal
KRUS = Item("Kaffekrus", "99", 1, "KRUS")


def cart(*items: Item, **kwargs: Any) -> Callable[[], Order]:
    return lambda: build_order(Cart(list(items), **kwargs))


def tampered(make: Callable[[], Order], **fields: Any) -> Callable[[], Order]:
    return lambda: make().model_copy(update=fields)


@dataclass
class Case:
    id: str
    order: Callable[[], Order]
    lines: list[str] = field(default_factory=list)
    total: str = ""
    vat: str = ""
    rounding: str = "0.00"
    skip: tuple[str, str] | None = None  # (kind, fragment of the reason)
    settings: PlanSettings = field(default_factory=PlanSettings)
    context: InvoiceContext = field(default_factory=InvoiceContext)
    check: Callable[[InvoicePlan], None] | None = None


def _debtor(kind: str, group: str, key: str, value: str, name: str = "Mette Jensen") -> Callable[[InvoicePlan], None]:
    def check(plan: InvoicePlan) -> None:
        d = plan.debtor
        assert (d.kind, d.group, d.match_key, d.match_value, d.name) == (kind, group, key, value, name)

    return check


def _payment(register: bool, fragment: str, terms: str) -> Callable[[InvoicePlan], None]:
    def check(plan: InvoicePlan) -> None:
        assert plan.payment.register is register and fragment in plan.payment.reason
        assert plan.payment_terms == terms
        if register:
            assert plan.payment.amount == plan.totals.total and plan.payment.date

    return check


def _held(plan: InvoicePlan) -> None:
    assert plan.mode == "draft" and plan.held and not plan.payment.register
    assert "total 428.80 vs Woo 427.80 (difference -1.00" in plan.held
    assert not any(line.kind == "rounding" for line in plan.lines)


def _renewal(plan: InvoicePlan) -> None:
    assert plan.renewal and plan.reference == "woo/order-6120" and plan.payment.register


def _products(plan: InvoicePlan) -> None:
    assert [(p.sku, p.name, p.unit_price) for p in plan.products] == [("TS-L", "T-shirt - L", D("159.20"))]


def _no_misc_product(plan: InvoicePlan) -> None:
    assert plan.products == ()


def _eur(plan: InvoicePlan) -> None:
    assert plan.currency == "EUR" and plan.debtor.currency == "EUR"


def _ean(plan: InvoicePlan) -> None:
    assert (plan.debtor.kind, plan.debtor.group, plan.debtor.ean) == ("ean", "EAN", "5798000000000")
    assert plan.debtor.vat_number == "DK29403473" and plan.debtor.attention == "Mette Jensen"


ON_HOLD = settings(triggers={"order_statuses": ["on-hold", "processing", "completed"]})
CASES = [
    Case("real-17-dk", order17, ["KRUS-001 2×79.20 K25 -10.00%", "TSHIRT-S 1×159.20 K25 -10.00%",
         "GAVE-001 1×20.00 K25 -10.00%", "SHIPPING 1×39.20 K25"], "428.80", "85.76"),
    Case("real-19-de-oss", order19, ["TSHIRT-M 1×159.20 OSS-DE-19", "SHIPPING 1×60.00 OSS-DE-19"], "260.85", "41.65"),
    Case("dk-simple", cart(KRUS), ["KRUS 1×79.20 K25"], "99.00", "19.80", check=_debtor("b2c", "B2C", "email",
         "kunde@example.com")),
    Case("multi-line", cart(Item("Krus", "99", 2, "KRUS"), Item("Tallerken", "49.95", 1, "TAL")),
         ["KRUS 2×79.20 K25", "TAL 1×39.96 K25"], "247.95", "49.59"),
    Case("variation", cart(Item("T-shirt - L", "199", 1, "TS-L", variation_id=205, parent_name="T-shirt")),
         ["TS-L 1×159.20 K25"], "199.00", "39.80", check=_products),
    Case("coupon-percent", cart(Item("Krus", "99", 2, "KRUS"), coupons=[Coupon("ti", "percent", "10")]),
         ["KRUS 2×79.20 K25 -10.00%"], "178.20", "35.64"),
    # fixed_cart splits per unit, not by price: 30 kr over 3 units = 10 each (A 10 %, B 20 %).
    Case("coupon-fixed-cart", cart(Item("A", "100", 1, "A"), Item("B", "50", 2, "B"),
         coupons=[Coupon("tredive", "fixed_cart", "30")]), ["A 1×80.00 K25 -10.00%", "B 2×40.00 K25 -20.00%"],
         "170.00", "34.00"),
    Case("coupon-fixed-cart-as-discount-line", cart(Item("A", "100", 1, "A"), Item("B", "50", 2, "B"),
         coupons=[Coupon("tredive", "fixed_cart", "30")]),
         ["A 1×80.00 K25", "B 2×40.00 K25", "DISCOUNT 1×-24.00 K25"], "170.00", "34.00",
         settings=settings(invoice={"coupons": "discount_line"})),
    Case("coupon-fixed-product", cart(Item("Krus", "99", 3, "KRUS"), coupons=[Coupon("ti", "fixed_product", "10")]),
         ["KRUS 3×79.20 K25 -10.10%"], "267.00", "53.40"),
    Case("shipping", cart(KRUS, shipping=[("GLS", "39.20")]), ["KRUS 1×79.20 K25", "SHIPPING 1×39.20 K25"],
         "148.00", "29.60"),
    Case("free-shipping", cart(KRUS, shipping=[("Fri fragt", "0.00")]), ["KRUS 1×79.20 K25", "SHIPPING 1×0.00 K25"],
         "99.00", "19.80"),
    Case("fee-positive", cart(KRUS, fees=[("Gebyr", "20.00", True)]), ["KRUS 1×79.20 K25", "FEE 1×20.00 K25"],
         "124.00", "24.80"),
    Case("fee-negative", cart(Item("Krus", "99", 2, "KRUS"), fees=[("Rabat", "-16.00", True)]),
         ["KRUS 2×79.20 K25", "FEE 1×-16.00 K25"], "178.00", "35.60"),
    # 3 × 33.33 incl. VAT: net 79.992 is "79.99"; no single øre price gives it, two prices do.
    Case("3x33.33", cart(Item("Kop", "33.33", 3, "KOP")), ["KOP 2×26.66 K25", "KOP 1×26.67 K25"], "99.99", "20.00"),
    # Shipping 39.50 net: VAT 9.875 is charged as 9.87 (half down); Dynaccount would say 9.88, so the
    # net moves one øre (39.49 → 9.87 exactly) and the øre of total goes on the VAT-free rounding line.
    Case("half-øre-tax", cart(KRUS, shipping=[("GLS", "39.50")]),
         ["KRUS 1×79.20 K25", "SHIPPING 1×39.49 K25", "ROUNDING 1×0.01 -"], "148.37", "29.67", "0.01"),
    Case("se-oss", cart(KRUS, country="SE"), ["KRUS 1×79.20 OSS-SE-25"], "99.00", "19.80"),
    Case("fr-oss-20", cart(Item("Krus", "79", 1, "KRUS"), country="FR"), ["KRUS 1×63.20 OSS-FR-20"], "75.84", "12.64"),
    Case("no-export", cart(KRUS, shipping=[("Posten", "50.00")], country="NO"),
         ["KRUS 1×79.20 EXP", "SHIPPING 1×50.00 EXP"], "129.20", "0.00"),
    Case("b2b-dk-vat-number", cart(KRUS, company="Firma ApS", meta={"_billing_vat_number": "DK12345678"}),
         ["KRUS 1×79.20 K25"], "99.00", "19.80",
         check=_debtor("b2b", "B2B", "vat_number", "DK12345678", "Firma ApS")),
    Case("b2b-eu-reverse-charge", cart(KRUS, shipping=[("DHL", "40.00")], country="DE", company="GmbH",
         meta={"_billing_vat_number": "DE123456789", "is_vat_exempt": "yes"}),
         ["KRUS 1×79.20 EUV", "SHIPPING 1×40.00 EUV"], "119.20", "0.00",
         check=_debtor("b2b", "B2B", "vat_number", "DE123456789", "GmbH")),
    Case("ean", cart(KRUS, company="Kommune", meta={"_billing_ean": "5798000000000",
         "_billing_vat_number": "DK29403473"}), ["KRUS 1×79.20 K25"], "99.00", "19.80", check=_ean),
    Case("renewal", lambda: Order.model_validate(synthetic("order-subscription-renewal.json")),
         ["KAFFE-ABO-1KG 1×159.20 K25", "SHIPPING 1×0.00 K25"], "199.00", "39.80", check=_renewal),
    Case("bank-transfer-not-paid", cart(KRUS, status="on-hold", payment_method="bacs", paid=False),
         ["KRUS 1×79.20 K25"], "99.00", "19.80", settings=ON_HOLD,
         check=_payment(False, "date_paid not set", "Netto 8")),
    Case("bank-transfer-paid", cart(KRUS, payment_method="bacs"), ["KRUS 1×79.20 K25"], "99.00", "19.80",
         check=_payment(True, "marked the order paid", "Kontant")),
    Case("card-paid", cart(KRUS), ["KRUS 1×79.20 K25"], "99.00", "19.80",
         check=_payment(True, "paid at checkout", "Kontant")),
    Case("cod-processing", cart(KRUS, payment_method="cod"), ["KRUS 1×79.20 K25"], "99.00", "19.80",
         check=_payment(False, "completed", "Kontant")),
    Case("cod-completed", cart(KRUS, payment_method="cod", status="completed"), ["KRUS 1×79.20 K25"], "99.00",
         "19.80", check=_payment(True, "on delivery", "Kontant")),
    Case("eur-currency", cart(Item("Krus", "13.40", 1, "KRUS"), currency="EUR"), ["KRUS 1×10.72 K25"], "13.40",
         "2.68", check=_eur),
    Case("zero-rated-domestic", cart(Item("Bog", "100", 1, "BOG", tax_class="zero-rate")), ["BOG 1×100.00 K0"],
         "100.00", "0.00"),
    Case("no-sku-misc", cart(Item("Håndlavet", "99", 1, None)), ["MISC 1×79.20 K25"], "99.00", "19.80",
         check=_no_misc_product),
    # Woo's total lowered by one krone: beyond tolerance, so the invoice is held as a draft.
    Case("totals-off-held-draft", tampered(order17, total=D("427.80")), ["KRUS-001 2×79.20 K25 -10.00%",
         "TSHIRT-S 1×159.20 K25 -10.00%", "GAVE-001 1×20.00 K25 -10.00%", "SHIPPING 1×39.20 K25"], "428.80",
         "85.76", check=_held),
    Case("unmapped-rate-held", cart(Item("Avis", "112.50", 1, "AVIS", tax_class="reduced-rate")),
         skip=("hold", "rate id 6 (DK-REDUCERET-1, 12.5 %)")),
    Case("eu-consumer-without-tax-held", cart(KRUS, country="DE", meta={"is_vat_exempt": "yes"}),
         skip=("hold", "not an EU B2B sale with a VAT number")),
    Case("skip-pending", cart(KRUS, status="pending", paid=False), skip=("skip", "'pending' is not one of")),
    Case("skip-filter-payment-method", cart(KRUS, payment_method="bacs"),
         skip=("skip", "'bacs' is not in filters.payment_methods"),
         settings=settings(filters={"payment_methods": ["stripe"]})),
    Case("skip-filter-forbidden-meta", cart(KRUS, meta={"_pos_order": "1"}), skip=("skip", "_pos_order"),
         settings=settings(filters={"forbidden_meta": {"_pos_order": "*"}})),
    Case("skip-renewal-status", lambda: Order.model_validate(synthetic("order-subscription-renewal.json")),
         skip=("skip", "subscription renewal status 'processing'"),
         settings=settings(triggers={"renewal_statuses": ["completed"]})),
    Case("done-already-booked", cart(KRUS), skip=("done", "already invoiced"),
         context=InvoiceContext(invoice=ExistingInvoice("woo/order-100", booked=True))),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_order_shape(case: Case) -> None:
    plan = plan_invoice(case.order(), case.settings, case.context)
    if case.skip:
        assert isinstance(plan, Skip), plan
        assert (plan.kind, case.skip[1] in plan.reason) == (case.skip[0], True), plan.reason
        return
    assert isinstance(plan, InvoicePlan), plan
    assert shown(plan) == case.lines
    assert (str(plan.totals.total), str(plan.totals.vat), str(plan.totals.rounding)) == (case.total, case.vat,
                                                                                          case.rounding)  # fmt: skip
    if not plan.held:
        order = case.order()
        assert plan.totals.total == order.total, "the invoice must equal WooCommerce's total to the øre"
        assert abs(plan.totals.vat - order.total_tax) <= D("0.05")
        assert sum(line.net + line.vat for line in plan.lines) == order.total
    if case.check:
        case.check(plan)


def test_at_least_25_order_shapes() -> None:
    assert len([c for c in CASES if not c.skip or c.skip[0] == "hold"]) >= 25


def test_half_øre_tax_is_booked_exactly_not_accepted_as_a_difference() -> None:
    plan = plan_invoice(build_order(Cart([KRUS], shipping=[("GLS", "39.50")])), PlanSettings())
    assert isinstance(plan, InvoicePlan)
    assert (plan.totals.woo_vat, plan.totals.vat, plan.totals.vat_difference) == (D("29.67"), D("29.67"), D("0"))
    assert plan.woo_vat_by_code == {"K25": D("29.67")}


def test_draft_mode_defers_payment_and_draft_invoice_is_replaced() -> None:
    plan = plan_invoice(build_order(Cart([KRUS])), settings(invoice={"mode": "draft"}),
                        InvoiceContext(invoice=ExistingInvoice("woo/order-100", booked=False)))  # fmt: skip
    assert isinstance(plan, InvoicePlan)
    assert plan.mode == "draft" and plan.update_draft and not plan.payment.register
    assert "draft" in plan.payment.reason


def test_debtor_number_rules() -> None:
    order = build_order(Cart([KRUS], customer_id=42))
    by_offset = settings(debtors={"numbering": "customer_id_offset"})
    shared = settings(debtors={"b2c": {"group": "Web", "match": "shared", "shared_number": 999}})
    cases = [
        (PlanSettings(), InvoiceContext(), (None, 10000, "email")),
        (PlanSettings(), InvoiceContext(debtor_number=5), (5, None, "email")),
        (by_offset, InvoiceContext(), (100042, None, "email")),
        (shared, InvoiceContext(), (999, None, "shared")),
        (settings(debtors={"b2c": {"group": "B2C", "match": "customer_id"}}), InvoiceContext(), (None, 10000,
         "customer_id")),
    ]
    for plan_settings, context, expected in cases:
        plan = plan_invoice(order, plan_settings, context)
        assert isinstance(plan, InvoicePlan)
        assert (plan.debtor.number, plan.debtor.allocate_from, plan.debtor.match_key) == expected


def test_guest_matched_by_customer_id_falls_back_to_email() -> None:
    plan = plan_invoice(build_order(Cart([KRUS])), settings(debtors={"b2c": {"group": "B2C", "match": "customer_id"}}))
    assert isinstance(plan, InvoicePlan)
    assert (plan.debtor.match_key, plan.debtor.match_value) == ("email", "kunde@example.com")


def test_vat_override_by_rate_id_maps_an_otherwise_unmapped_rate() -> None:
    order = build_order(Cart([Item("Avis", "112.50", 1, "AVIS", tax_class="reduced-rate")]))
    plan = plan_invoice(order, settings(vat={"by_rate_id": {"6": "K12"}}))
    assert isinstance(plan, InvoicePlan)
    assert shown(plan) == ["AVIS 1×100.00 K12"] and plan.totals.total == D("112.50")


def test_real_order_17_plan_facts() -> None:
    plan = plan_invoice(order17(), PlanSettings())
    assert isinstance(plan, InvoicePlan)
    assert (plan.reference, plan.text, plan.currency, plan.mode) == ("woo/order-17", "WooCommerce order 17", "DKK",
                                                                     "booked")  # fmt: skip
    assert plan.debtor.language == "da" and plan.debtor.address == "Nørrebrogade 12, 2. th"
    assert plan.payment.register and plan.payment.date == "2026-11-24T05:56:53"
    assert show(plan.lines[0]) == "KRUS-001 2×79.20 K25 -10.00%" and plan.lines[0].net == D("142.56")


def test_order_lines_never_update_products_while_the_catalog_sync_owns_them() -> None:
    """Issue 15: an order line's net (before coupons) would fight the catalog's list price on every sale."""
    order = build_order(Cart([Item("Krus", "99", 1, "KRUS")]))
    base = PlanSettings().model_copy(update={"products": PlanSettings().products.model_copy(
        update={"sync": "create_and_update"})})  # fmt: skip
    following = base.model_copy(update={"products": base.products.model_copy(update={"on_shop_events": True})})
    updates = [p.update for s in (base, following) for p in plan_invoice(order, s).products]  # type: ignore[union-attr]
    assert updates == [True, False]
