"""WooCommerce tax rates and rounding primitives (pure, WC 10.0.2 semantics).

WooCommerce keeps three different roundings apart, and a faithful model must too:

* ``round6``: ``WC_Tax::round`` -- every computed tax is kept at 6 decimals, half up.
* ``round_tax_total``: ``wc_round_tax_total`` -- tax *totals* at price decimals, half DOWN when prices are
  entered incl. tax (``WC_TAX_ROUNDING_MODE`` auto), half up otherwise.
* ``round_money``: ``wc_format_decimal``/``NumberUtil::round`` -- display and line sums, half up.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import ROUND_HALF_DOWN, ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agent.sandbox.woo.shop import ShopSettings

ZERO = Decimal("0")
HUNDRED = Decimal("100")
_SIX = Decimal("0.000001")


def _quantum(decimals: int) -> Decimal:
    return Decimal(1).scaleb(-decimals)


def round6(value: Decimal) -> Decimal:
    return value.quantize(_SIX, rounding=ROUND_HALF_UP)


def round_money(value: Decimal, decimals: int = 2) -> Decimal:
    return value.quantize(_quantum(decimals), rounding=ROUND_HALF_UP)


def round_tax_total(value: Decimal, *, prices_include_tax: bool, decimals: int = 2) -> Decimal:
    mode = ROUND_HALF_DOWN if prices_include_tax else ROUND_HALF_UP
    return value.quantize(_quantum(decimals), rounding=mode)


# The REST ``dp`` parameter of the request being answered (``?dp=6`` shows WooCommerce's unrounded 6-decimal
# line nets and taxes); a context variable, so each request renders with its own.
RENDER_DP: ContextVar[int] = ContextVar("render_dp", default=2)


def round_line_tax(value: Decimal, settings: ShopSettings) -> Decimal:
    """``round_line_tax`` (trait-wc-item-totals.php): wc_round_tax_total per line, unless the shop rounds
    tax at subtotal (then line, shipping and coupon taxes stay unrounded)."""
    if settings.round_at_subtotal:
        return value
    return round_tax_total(value, prices_include_tax=settings.prices_include_tax, decimals=settings.decimals)


def fmt_money(value: Decimal, decimals: int | None = None) -> str:
    """``wc_format_decimal($v, dp)``: padded to ``decimals`` (the request's ``dp``), half up, no separator."""
    return f"{round_money(value, RENDER_DP.get() if decimals is None else decimals):f}"


def fmt_raw(value: Decimal) -> str:
    """PHP float-to-string as used for undp'd fields (coupon ``discount``): ``"104"``, ``"5.2"``."""
    text = f"{value.quantize(Decimal('1e-12'), rounding=ROUND_HALF_UP).normalize():f}"
    return "0" if text in ("-0", "") else text


def standard_slug(tax_class: str) -> str:
    """Products say ``""`` for the standard class, the tax table says ``"standard"``."""
    return "" if tax_class in ("", "standard") else tax_class


@dataclass(frozen=True)
class TaxRate:
    """One row of ``GET /wc/v3/taxes`` (non-compound; state/postcode/city wildcards are not modelled)."""

    id: int
    country: str
    rate: Decimal
    name: str
    tax_class: str = ""
    priority: int = 1
    compound: bool = False
    shipping: bool = True
    state: str = ""

    @property
    def rate_code(self) -> str:
        # WC_Tax::get_rate_code: empty parts dropped; strtoupper only touches ASCII letters.
        parts = [self.country, self.state, self.name or "TAX", str(self.priority)]
        return "-".join(_ascii_upper(p) for p in parts if p)


def _ascii_upper(text: str) -> str:
    return "".join(c.upper() if c.isascii() else c for c in text)


def find_rates(rates: Iterable[TaxRate], country: str, tax_class: str, *, shipping: bool = False) -> list[TaxRate]:
    """Rates for a location and class; one per priority, the first matching row wins (``WC_Tax::find_rates``)."""
    wanted = standard_slug(tax_class)
    seen: set[int] = set()
    found: list[TaxRate] = []
    for rate in rates:
        if standard_slug(rate.tax_class) != wanted or rate.country not in ("", country):
            continue
        if (shipping and not rate.shipping) or rate.priority in seen:
            continue
        seen.add(rate.priority)
        found.append(rate)
    return found


def inclusive_taxes(price: Decimal, rates: Iterable[TaxRate]) -> dict[int, Decimal]:
    """Tax contained in a gross ``price`` per rate id (``WC_Tax::calc_inclusive_tax``), 6 decimals."""
    rate_list = list(rates)
    divisor = 1 + sum((r.rate for r in rate_list), ZERO) / HUNDRED
    return {r.id: round6(price * (r.rate / HUNDRED) / divisor) for r in rate_list}


def exclusive_taxes(price: Decimal, rates: Iterable[TaxRate]) -> dict[int, Decimal]:
    """Tax on a net ``price`` per rate id (``WC_Tax::calc_exclusive_tax``), 6 decimals."""
    return {r.id: round6(price * r.rate / HUNDRED) for r in rates}


def merge_taxes(into: dict[int, Decimal], more: Mapping[int, Decimal]) -> dict[int, Decimal]:
    for rate_id, amount in more.items():
        into[rate_id] = into.get(rate_id, ZERO) + amount
    return into
