"""Money rules shared by the sandbox and the order planner (A-18).

VAT is computed per line and rounded half-up to 2 decimals; document totals are sums of the
rounded line figures. The planner imports these to predict Dynaccount's totals to the øre.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
HUNDRED = Decimal(100)


def round_money(amount: Decimal) -> Decimal:
    """Half-up to 2 decimals (A-18)."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def line_net(qty: Decimal, price: Decimal, discount_percent: Decimal = Decimal(0)) -> Decimal:
    """Line amount ex VAT: qty × price × (1 − discount/100), rounded half-up to øre."""
    return round_money(qty * price * (HUNDRED - discount_percent) / HUNDRED)


def line_vat(net: Decimal, rate_percent: Decimal) -> Decimal:
    """VAT of one line from its rounded net amount, rounded half-up to øre (A-18)."""
    return round_money(net * rate_percent / HUNDRED)


@dataclass(frozen=True)
class LineAmounts:
    net: Decimal
    vat: Decimal

    @property
    def total(self) -> Decimal:
        return self.net + self.vat


def line_amounts(
    qty: Decimal, price: Decimal, rate_percent: Decimal, discount_percent: Decimal = Decimal(0)
) -> LineAmounts:
    net = line_net(qty, price, discount_percent)
    return LineAmounts(net=net, vat=line_vat(net, rate_percent))


@dataclass(frozen=True)
class DocumentTotals:
    net_amount: Decimal
    vat_amount: Decimal

    @property
    def total_amount(self) -> Decimal:
        """Including VAT: what the customer pays (the document's ``total_amount``)."""
        return self.net_amount + self.vat_amount


def document_totals(lines: Iterable[LineAmounts]) -> DocumentTotals:
    """Sum of per-line rounded figures (no re-rounding at document level)."""
    net = vat = Decimal("0.00")
    for line in lines:
        net += line.net
        vat += line.vat
    return DocumentTotals(net_amount=net, vat_amount=vat)
