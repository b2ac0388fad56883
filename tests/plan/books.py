"""What "books to the øre" means, asserted the way Dynaccount would compute a document.

Each line's VAT is recomputed from the *code's* rate as the Dynaccount sandbox seeds it (not from the
tax rate the planner used), so a line on a code of another rate shows up as a wrong VAT; the expected
VAT per code comes from WooCommerce's ``tax_lines`` through a hand-written rate id → code table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from agent.dynaccount.rules import line_amounts
from agent.plan import PlanLine
from agent.sandbox.dynaccount.seed import OSS_CODES
from agent.woo.models import TaxLine

D = Decimal
DYNACCOUNT_RATES: dict[str, Decimal] = {"K25": D(25), "K0": D(0), "EUV": D(0), "EXP": D(0), "": D(0), **OSS_CODES}
# rate id (tests/plan/shapes.py RATES) → the code the books must use
CODE_OF: dict[int, str] = {1: "K25", 2: "OSS-DE-19", 3: "OSS-SE-25", 4: "OSS-FR-20", 5: "K0", 8: "OSS-DE-7",
                           9: "OSS-FR-5.5", 10: "OSS-SE-6", 11: "OSS-NL-21", 12: "OSS-NL-9"}  # fmt: skip


def booked_vat(lines: Sequence[PlanLine]) -> dict[str, Decimal]:
    """VAT per code as Dynaccount computes it from each code's own rate (A-18); zero codes left out."""
    out: dict[str, Decimal] = {}
    for line in lines:
        amounts = line_amounts(line.qty, line.unit_price, DYNACCOUNT_RATES[line.vat_code],
                               line.discount_percent or D(0))  # fmt: skip
        out[line.vat_code] = out.get(line.vat_code, D("0.00")) + amounts.vat
    return {code: vat for code, vat in out.items() if vat}


def booked_total(lines: Sequence[PlanLine]) -> Decimal:
    return sum((line_amounts(li.qty, li.unit_price, DYNACCOUNT_RATES[li.vat_code], li.discount_percent or D(0)).total
                for li in lines), D("0.00"))  # fmt: skip


def paid_vat(tax_lines: Sequence[TaxLine], sign: int = 1, codes: Mapping[int, str] = CODE_OF) -> dict[str, Decimal]:
    """What the customer paid per code: tax_total + shipping_tax_total per rate id (woocommerce.md §11.4)."""
    out: dict[str, Decimal] = {}
    for t in tax_lines:
        out[codes[t.rate_id]] = out.get(codes[t.rate_id], D("0.00")) + sign * (t.tax_total + t.shipping_tax_total)
    return {code: vat for code, vat in out.items() if vat}
