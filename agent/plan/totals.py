"""Predicted Dynaccount totals against WooCommerce's, and the rounding line that reconciles them."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from agent.dynaccount.rules import LineAmounts, document_totals
from agent.plan.money import ONE, ZERO
from agent.plan.settings import PlanSettings
from agent.plan.types import PlanLine, Totals


def predict(lines: Sequence[PlanLine]) -> tuple[Decimal, Decimal]:
    """(net, VAT) as Dynaccount will sum them: per-line rounded figures, no re-rounding (A-18)."""
    totals = document_totals(LineAmounts(line.net, line.vat) for line in lines)
    return totals.net_amount, totals.vat_amount


def settle(
    lines: Sequence[PlanLine], woo_total: Decimal, woo_vat: Decimal, settings: PlanSettings, what: str
) -> tuple[list[PlanLine], Totals, str | None]:
    """Lines plus a rounding line if needed, the totals, and a hold reason beyond tolerance.

    A total difference within tolerance becomes a VAT-free ROUNDING line so the document equals
    WooCommerce's total to the øre; a VAT difference within tolerance is only recorded, because
    Dynaccount computes VAT itself and the customer paid WooCommerce's figure either way.
    """
    net, vat = predict(lines)
    diff, vat_diff = woo_total - (net + vat), woo_vat - vat
    tolerance = settings.invoice.rounding_tolerance
    if abs(diff) > tolerance or abs(vat_diff) > tolerance:
        reason = (
            f"{what} totals differ from WooCommerce beyond the tolerance of {tolerance}: "
            f"total {net + vat} vs Woo {woo_total} (difference {diff}), VAT {vat} vs Woo {woo_vat} "
            f"(difference {vat_diff})"
        )
        return list(lines), Totals(net, vat, net + vat, woo_total, woo_vat, ZERO, vat_diff), reason
    out = list(lines)
    if diff:
        out.append(rounding_line(diff, settings))
        net += diff
    return out, Totals(net, vat, net + vat, woo_total, woo_vat, diff, vat_diff), None


def rounding_line(amount: Decimal, settings: PlanSettings) -> PlanLine:
    return PlanLine.make(kind="rounding", source="rounding", product=settings.products.rounding, name="Rounding",
                         qty=ONE, unit_price=amount, vat_code=settings.vat.no_vat, vat_rate=ZERO)  # fmt: skip
