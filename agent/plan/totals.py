"""Predicted Dynaccount totals against WooCommerce's, and the rounding line that reconciles them."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal

from agent.dynaccount.rules import LineAmounts, document_totals
from agent.plan.exact import fit_vat, mismatches
from agent.plan.money import ONE, ZERO
from agent.plan.settings import PlanSettings
from agent.plan.types import PlanLine, Totals


def predict(lines: Sequence[PlanLine]) -> tuple[Decimal, Decimal]:
    """(net, VAT) as Dynaccount will sum them: per-line rounded figures, no re-rounding (A-18)."""
    totals = document_totals(LineAmounts(line.net, line.vat) for line in lines)
    return totals.net_amount, totals.vat_amount


def settle(
    lines: Sequence[PlanLine], woo_total: Decimal, targets: Mapping[str, Decimal], settings: PlanSettings, what: str,
    fixed: Callable[[PlanLine], bool] = lambda _: False,
) -> tuple[list[PlanLine], Totals, str | None]:
    """Lines re-priced so the VAT per code is WooCommerce's exactly, plus a rounding line, the totals,
    and a hold reason when a code's VAT can't be reached or the total is off beyond tolerance.

    ``targets`` is the VAT the customer paid per VAT code. The VAT tolerance is zero; only what is left
    of the total may go on the VAT-free ROUNDING line, within ``invoice.rounding_tolerance``.
    """
    out = fit_vat(lines, targets, fixed)
    net, vat = predict(out)
    woo_vat = sum(targets.values(), ZERO)
    diff = woo_total - (net + vat)
    tolerance = settings.invoice.rounding_tolerance
    wrong = mismatches(out, targets)
    if wrong or abs(diff) > tolerance:
        reason = (
            f"{what} totals differ from WooCommerce: total {net + vat} vs Woo {woo_total} (difference {diff}, "
            f"tolerance {tolerance}), VAT {vat} vs Woo {woo_vat}"
        )
        if wrong:
            reason += f"; VAT per code: {'; '.join(wrong)}"
        return out, Totals(net, vat, net + vat, woo_total, woo_vat, ZERO, woo_vat - vat), reason
    if diff:
        out.append(rounding_line(diff, settings))
        net += diff
    return out, Totals(net, vat, net + vat, woo_total, woo_vat, diff, ZERO), None


def rounding_line(amount: Decimal, settings: PlanSettings) -> PlanLine:
    return PlanLine.make(kind="rounding", source="rounding", product=settings.products.rounding, name="Rounding",
                         qty=ONE, unit_price=amount, vat_code=settings.vat.no_vat, vat_rate=ZERO)  # fmt: skip
