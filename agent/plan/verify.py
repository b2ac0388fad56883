"""Compare what Dynaccount computed for a document with the plan, before it is booked.

Dynaccount computes each line's VAT from the code's own rate (A-18, A-31). If that disagrees with
the plan (a code whose rate differs from the tax rate, a rounding rule assumed wrongly), booking
would put the wrong VAT in the books for good; the document stays a draft and a human sees both
figures. Pure: the caller passes the document's figures as read back from Dynaccount.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from agent.plan.exact import vat_by_code
from agent.plan.money import ZERO
from agent.plan.types import PlanLine


@dataclass(frozen=True)
class DocLine:
    vat_code: str
    vat: Decimal


class VerificationFailed(Exception):
    """Dynaccount's figures differ from the plan: keep the draft, hold the item (message has both figures)."""


def differences(lines: Sequence[PlanLine], *, total: Decimal, vat: Decimal, doc_lines: Iterable[DocLine]) -> list[str]:
    """Every figure where Dynaccount (``total``, ``vat``, its lines) differs from the planned ``lines``."""
    planned_vat = sum((line.vat for line in lines), ZERO)
    planned_total = sum((line.gross for line in lines), ZERO)
    out = []
    if total != planned_total:
        out.append(f"total {total} in Dynaccount vs {planned_total} planned")
    if total - vat != planned_total - planned_vat:
        out.append(f"net {total - vat} in Dynaccount vs {planned_total - planned_vat} planned")
    if vat != planned_vat:
        out.append(f"VAT {vat} in Dynaccount vs {planned_vat} planned")
    out += _per_code(vat_by_code(lines), doc_lines)
    return out


def _per_code(planned: Mapping[str, Decimal], doc_lines: Iterable[DocLine]) -> list[str]:
    have: dict[str, Decimal] = {}
    for line in doc_lines:
        if line.vat_code:
            have[line.vat_code] = have.get(line.vat_code, ZERO) + line.vat
    codes = sorted({c for c in set(planned) | set(have) if c})
    return [
        f"VAT on {code} {have.get(code, ZERO)} in Dynaccount vs {planned.get(code, ZERO)} planned"
        for code in codes
        if have.get(code, ZERO) != planned.get(code, ZERO)
    ]


def verify(what: str, lines: Sequence[PlanLine], *, total: Decimal, vat: Decimal, doc_lines: Iterable[DocLine]) -> None:
    found = differences(lines, total=total, vat=vat, doc_lines=doc_lines)
    if found:
        raise VerificationFailed(f"{what} left as a draft, not booked: Dynaccount computed other figures than "
                                 f"the plan ({'; '.join(found)})")  # fmt: skip
