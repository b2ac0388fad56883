"""Line nets chosen so Dynaccount's own VAT rule (A-18: per line, half up) yields exactly the VAT
the customer paid per VAT code.

WooCommerce taxes unrounded nets (6 decimals) and rounds tax totals half down; Dynaccount rounds each
line's net and VAT half up. The same nets therefore give VAT a few øre off. At a rate ≤ 100 % a few
øre of net move a line's VAT by one øre, so for every code an exact hit exists: this module moves the
fewest øre of net, one øre of VAT at a time, onto the line closest to its rounding boundary. What this
does to the total is left to the caller's VAT-free rounding line (within the tolerance).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal

from agent.plan.money import CENT, ZERO, split_price
from agent.plan.types import PlanLine

MAX_STEPS = 500  # øre of VAT per code; far beyond any rounding difference, a guard against a loop


def vat_by_code(lines: Sequence[PlanLine]) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for line in lines:
        if line.kind != "rounding":
            out[line.vat_code] = out.get(line.vat_code, ZERO) + line.vat
    return out


def _make(first: PlanLine, parts: Sequence[tuple[Decimal, Decimal]]) -> list[PlanLine]:
    return [
        PlanLine.make(kind=first.kind, source=first.source, product=first.product, name=first.name, qty=q,
                      unit_price=price, vat_code=first.vat_code, vat_rate=first.vat_rate)
        for q, price in parts if q > 0
    ]  # fmt: skip


def _splits(qty: Decimal, net: Decimal) -> Iterator[list[tuple[Decimal, Decimal]]]:
    """Ways to write ``net`` as units at two øre prices: the plain split first, then wider ones.

    Each line's VAT is rounded on its own (A-18), so 4 × 210.945 written as 1 × 210.93 + 3 × 210.95 has
    other VAT than 2 × 210.94 + 2 × 210.95 for the same net: a way to hit the VAT without moving net.
    """
    yield split_price(qty, net)
    if qty <= 1:
        return
    units, total = int(qty), int(net / CENT)
    low = total // units
    for below in range(0, 4):
        for gap in range(1, 7):
            p1 = low - below
            rest = total - units * p1  # øre the higher-priced units add: (units - a) * gap
            if rest > 0 and rest % gap == 0 and rest // gap < units and (below or gap > 1):
                high = rest // gap
                yield [(Decimal(units - high), p1 * CENT), (Decimal(high), (p1 + gap) * CENT)]


def regroup(group: Sequence[PlanLine], net: Decimal) -> Iterator[list[PlanLine]]:
    """The group's lines re-priced (øre prices, split over two prices) to ``net`` exactly, every way."""
    qty = sum((line.qty for line in group), Decimal(0))
    if any(line.qty <= 0 for line in group) or qty != qty.to_integral_value():
        return  # netted refund lines (negative qty) keep their figures
    for parts in _splits(qty, net):
        yield _make(group[0], parts)


def _cost(group: Sequence[PlanLine], step: Decimal) -> tuple[int, list[PlanLine]] | None:
    """Fewest øre of net that move the group's VAT by exactly ``step``, and the new lines."""
    rate = group[0].vat_rate
    if rate <= 0:
        return None
    net = sum((line.net for line in group), ZERO)
    vat = sum((line.vat for line in group), ZERO)
    for k in range(0, int(200 / rate) + 3):
        for lines in regroup(group, net + step * k):
            if sum((line.vat for line in lines), ZERO) - vat == step:
                return k, lines
    return None


def _groups(lines: Sequence[PlanLine], code: str) -> dict[tuple[str, str], list[PlanLine]]:
    out: dict[tuple[str, str], list[PlanLine]] = {}
    for line in lines:
        if line.vat_code == code and line.kind != "rounding":
            out.setdefault((line.source, line.kind), []).append(line)
    return out


def _replace(lines: list[PlanLine], key: tuple[str, str], code: str, new: list[PlanLine]) -> list[PlanLine]:
    """``new`` takes the place of the group's first line; order of the other lines is kept."""
    out: list[PlanLine] = []
    placed = False
    for line in lines:
        if (line.source, line.kind) == key and line.vat_code == code:
            if not placed:
                out += new
                placed = True
            continue
        out.append(line)
    return out


def fit_vat(lines: Sequence[PlanLine], targets: Mapping[str, Decimal],
            fixed: Callable[[PlanLine], bool] = lambda _: False) -> list[PlanLine]:  # fmt: skip
    """``lines`` with nets moved so each code's VAT equals ``targets[code]`` where reachable.

    Lines for which ``fixed`` is true are never re-priced. The caller compares the result with the
    targets: a code that could not be reached is a hold, never a booking.
    """
    out = list(lines)
    for code, target in targets.items():
        # Rounding alone moves a code's VAT by at most about an øre per line on either side; a larger gap
        # is a real disagreement (a rate or a refund_tax entered otherwise) for a human, not for re-pricing.
        reach = CENT * (2 * sum(1 for line in out if line.vat_code == code) + 2)
        if abs(target - vat_by_code(out).get(code, ZERO)) > reach:
            continue
        for _ in range(MAX_STEPS):
            diff = target - vat_by_code(out).get(code, ZERO)
            if not diff:
                break
            step = CENT if diff > 0 else -CENT
            options = [
                (found[0], key, found[1])
                for key, group in _groups(out, code).items()
                if not any(fixed(line) for line in group) and (found := _cost(group, step)) is not None
            ]
            if not options:
                break
            _, key, new = min(options, key=lambda o: o[0])
            out = _replace(out, key, code, new)
    return out


def mismatches(lines: Sequence[PlanLine], targets: Mapping[str, Decimal]) -> list[str]:
    """Codes whose VAT differs from the target, as ``CODE 12.34 vs WooCommerce 12.35``."""
    have = vat_by_code(lines)
    codes = sorted(set(targets) | {c for c, v in have.items() if v})
    return [
        f"{code or 'no code'} {have.get(code, ZERO)} vs WooCommerce {targets.get(code, ZERO)}"
        for code in codes
        if have.get(code, ZERO) != targets.get(code, ZERO)
    ]
