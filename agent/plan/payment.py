"""Payment terms and when a payment (or a refund payout) is registered, per payment method."""

from __future__ import annotations

from decimal import Decimal

from agent.plan.settings import DocumentMode, PlanSettings, Registration
from agent.plan.types import PaymentDecision
from agent.woo.models import Order


def payment_terms(order: Order, settings: PlanSettings) -> str:
    """A paid order's invoice says it is paid, whatever the gateway; an unpaid one gets the method's terms."""
    if order.date_paid_gmt:
        return settings.invoice.paid_payment_terms
    return settings.invoice.payment_terms_by_method.get(order.payment_method, settings.invoice.default_payment_terms)


def registration(method: str, settings: PlanSettings) -> Registration:
    return settings.payments.registration_by_method.get(method, settings.payments.default_registration)


def _account(method: str, settings: PlanSettings) -> str:
    return settings.payments.account_by_method.get(method, settings.payments.default_account)


def _when(order: Order, rule: Registration) -> tuple[str | None, str]:
    """(date to register on, or None with the reason to wait)."""
    if rule == "never":
        return None, f"payment registration is off for {order.payment_method or 'this method'}"
    if rule == "at_once":
        return order.date_paid_gmt or order.date_created_gmt, "paid at checkout"
    if rule == "on_date_paid":
        if order.date_paid_gmt:
            return order.date_paid_gmt, "WooCommerce marked the order paid"
        return None, "waiting for WooCommerce to mark the order paid (date_paid not set)"
    if order.status == "completed":
        return order.date_completed_gmt or order.date_paid_gmt, "paid on delivery (order completed)"
    return None, "waiting for the order to be completed (payment on delivery)"


def invoice_payment(
    order: Order, settings: PlanSettings, *, mode: DocumentMode, held: str | None, registered: bool, amount: Decimal
) -> PaymentDecision:
    method = order.payment_method
    if registered:
        return PaymentDecision(False, "payment already registered", method)
    if held:
        return PaymentDecision(False, "invoice is held as a draft", method)
    if amount <= 0:
        return PaymentDecision(False, "nothing to pay", method)
    date, reason = _when(order, registration(method, settings))
    if date is None:
        return PaymentDecision(False, reason, method)
    if mode == "draft":
        # A draft has no invoice number to match a payment against.
        return PaymentDecision(False, "invoice is created as a draft; register the payment when it is booked", method)
    return PaymentDecision(True, reason, method, amount, date, _account(method, settings))


def refund_payout(
    method: str, settings: PlanSettings, *, paid: bool, amount: Decimal, date: str | None, mode: DocumentMode
) -> PaymentDecision:
    if not paid:
        return PaymentDecision(False, "the order's payment was not registered: no payout to register", method)
    if registration(method, settings) == "never":
        return PaymentDecision(False, f"payment registration is off for {method or 'this method'}", method)
    if mode == "draft":
        return PaymentDecision(False, "credit note is a draft; register the payout when it is booked", method)
    return PaymentDecision(True, "refund paid back to the customer", method, amount, date, _account(method, settings))
