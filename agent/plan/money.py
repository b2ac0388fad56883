"""Money arithmetic of the planner: Dynaccount's rule (A-18), exact unit prices, proportional splits.

Every amount leaving this module is a Decimal quantized to the øre. Dynaccount's own rounding rule
lives in ``agent.dynaccount.rules`` and is used only through :func:`dynaccount_line`, so a change to
A-18 reaches the planner in one place.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_FLOOR, Decimal

from agent.dynaccount.rules import CENT, HUNDRED, LineAmounts, line_amounts, round_money

ZERO = Decimal("0.00")
ONE = Decimal(1)
HUNDRED_PCT = HUNDRED

__all__ = ["CENT", "HUNDRED_PCT", "ONE", "ZERO", "allocate", "cents", "dynaccount_line", "net_for_gross", "split_price"]


def cents(amount: Decimal) -> Decimal:
    """Half-up to the øre: the only rounding used for amounts Dynaccount will see (A-18)."""
    return round_money(amount)


def dynaccount_line(qty: Decimal, price: Decimal, rate: Decimal, discount: Decimal | None = None) -> LineAmounts:
    """Net and VAT of one document line as Dynaccount computes them (A-18: VAT per line, half-up)."""
    return line_amounts(qty, price, rate, discount or Decimal(0))


def split_price(qty: Decimal, net: Decimal) -> list[tuple[Decimal, Decimal]]:
    """(qty, unit price) parts whose qty × price add up to ``net`` exactly, with øre prices.

    WooCommerce keeps a line's net unrounded (3 × 26.664 = 79.99), but Dynaccount takes øre prices
    (A-18); one price can't be exact, so the units are split between two adjacent prices
    (2 × 26.66 + 1 × 26.67) instead of leaving the difference to a rounding line.
    """
    if qty <= 0 or qty != qty.to_integral_value():
        return [(ONE, cents(net))]
    low = (net / qty).quantize(CENT, rounding=ROUND_FLOOR)
    extra = int((cents(net) - low * qty) / CENT)
    parts = [(qty - extra, low), (Decimal(extra), low + CENT)]
    return [(q, p) for q, p in parts if q > 0]


def allocate(total: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
    """Split ``total`` to the øre in proportion to ``weights``; the remainder goes to the largest share."""
    base = sum(weights, Decimal(0))
    if not weights:
        return []
    if base == 0:
        shares = [ZERO] * len(weights)
    else:
        shares = [cents(total * w / base) for w in weights]
    largest = max(range(len(weights)), key=lambda i: abs(weights[i]))
    shares[largest] += cents(total) - sum(shares, ZERO)
    return shares


def net_for_gross(gross: Decimal, rate: Decimal) -> Decimal:
    """A net amount whose A-18 VAT brings it to ``gross`` exactly, if one exists (else the closest)."""
    guess = cents(gross * HUNDRED / (HUNDRED + rate))
    for candidate in (guess, guess - CENT, guess + CENT):
        if dynaccount_line(ONE, candidate, rate).total == gross:
            return candidate
    return guess
