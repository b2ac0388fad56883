"""WooCommerce tax → Dynaccount VAT code.

A taxed line finds its rate through the rate id in its ``taxes[]`` → the order's ``tax_lines``
entry → the mapping (by rate id, then "country:percent", then OSS). Rate ids, not rate codes,
identify a rate because two rates can share one ``rate_code`` (woocommerce.md §11.9). A line with no
tax gets a code from the order's classification (domestic zero, export, reverse charge).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from agent.plan.eurates import is_eu_rate, oss_code_name, percent_key
from agent.plan.money import CENT, ZERO, cents
from agent.plan.money import HUNDRED_PCT as HUNDRED
from agent.plan.settings import PlanSettings, VatSettings
from agent.woo.models import ItemTax, Order, TaxLine

ZERO_RATE = Decimal(0)
Codes = Mapping[str, Decimal]  # Dynaccount's VAT codes by name → rate in percent (spec §6, A-31)


class PlanHold(Exception):
    """The order can't be planned safely; the message is shown to the shop owner."""


class UnknownVatCode(PlanHold):
    """A mapped code Dynaccount did not list: the caller re-reads the VAT codes once before holding."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class VatChoice:
    code: str
    rate: Decimal  # percent


def map_tax_line(line: TaxLine, vat: VatSettings) -> str | None:
    """The VAT code for one WooCommerce tax rate, or None when nothing maps it."""
    if str(line.rate_id) in vat.by_rate_id:
        return vat.by_rate_id[str(line.rate_id)]
    country = line.country
    by_country = vat.by_country_rate.get(f"{country}:{percent_key(line.rate_percent)}")
    if by_country is not None:
        return by_country
    if country == vat.home_country and line.rate_percent == 0:
        return vat.zero_rated
    oss = vat.oss_code and country in vat.eu_countries and country != vat.home_country and line.rate_percent > 0
    # Only the shipped rates: a rate the table does not know is held, never put on a guessed code.
    if oss and is_eu_rate(country, line.rate_percent):
        return oss_code_name(vat.oss_code, country, line.rate_percent)
    return None


def describe_rate(line: TaxLine) -> str:
    return f"rate id {line.rate_id} ({line.rate_code or line.label or '?'}, {percent_key(line.rate_percent)} %)"


def config_key(line: TaxLine) -> str:
    return f'[vat] by_country_rate "{line.country or "?"}:{percent_key(line.rate_percent)}"'


def check_rate(code: str, rate: Decimal, codes: Codes | None, fix: str) -> None:
    """A line may only go on a code whose rate is the tax rate (Dynaccount computes VAT from the code)."""
    if codes is None:
        return
    have = codes.get(code)
    pct = percent_key(rate)
    if have is None:
        raise UnknownVatCode(code, f"Dynaccount has no VAT code {code!r} (needed at {pct} %): create it with rate "
                                   f"{pct} %, or {fix}")  # fmt: skip
    if have != rate:
        raise PlanHold(f"VAT code {code!r} has rate {percent_key(have)} % in Dynaccount, but the tax is {pct} %: "
                       f"{fix}")  # fmt: skip


def customer_country(order: Order, vat: VatSettings) -> str:
    if vat.tax_country == "shipping":
        return order.shipping.country or order.billing.country
    return order.billing.country or order.shipping.country


class OrderVat:
    """VAT codes for the lines of one order; ``codes`` (Dynaccount's, when known) guard every choice."""

    def __init__(self, order: Order, settings: PlanSettings, vat_number: str, codes: Codes | None = None) -> None:
        self._vat = settings.vat
        self._codes = codes
        self._rates = {t.rate_id: t for t in order.tax_lines}
        self._untaxed = self._untaxed_choice(order, vat_number)

    def for_rate_id(self, rate_id: int, what: str) -> VatChoice:
        line = self._rates.get(rate_id)
        if line is None:
            raise PlanHold(f"{what} refers to tax rate id {rate_id}, which is not among the order's tax lines")
        fix = f"set {config_key(line)} to a code with that rate"
        code = map_tax_line(line, self._vat)
        if code is None:
            raise PlanHold(f"no VAT code for {line.country or '?'} at {percent_key(line.rate_percent)} % (tax "
                           f"{describe_rate(line)}): {fix}")  # fmt: skip
        check_rate(code, line.rate_percent, self._codes, fix)
        return VatChoice(code, line.rate_percent)

    def for_taxes(self, taxes: Sequence[ItemTax], what: str) -> VatChoice:
        charged = [t for t in taxes if t.total != 0] or list(taxes)
        ids = {t.id for t in charged}
        if not ids:
            return self.untaxed()
        if len(ids) > 1:
            raise PlanHold(f"{what} is taxed at several rates ({sorted(ids)}); book it by hand")
        return self.for_rate_id(ids.pop(), what)

    def split(self, taxes: Sequence[ItemTax], net: Decimal, what: str) -> list[tuple[VatChoice, Decimal]]:
        """A fee or shipping line's net per rate: WooCommerce apportions a negative fee over the order's
        classes, one ``taxes[]`` entry per rate id (0.00 for a 0 % class). A taxed share is its tax over
        the rate; the untaxed (0 %) share is what remains, so the shares add up to ``net`` exactly."""
        ids = list(dict.fromkeys(t.id for t in taxes))
        if len(ids) <= 1:
            return [(self.for_taxes(taxes, what), net)]
        choices = [(self.for_rate_id(i, what), sum((t.total for t in taxes if t.id == i), ZERO)) for i in ids]
        shares = [(c, cents(tax * HUNDRED / c.rate) if c.rate else None) for c, tax in choices]
        taxed = sum((s for _, s in shares if s is not None), ZERO)
        slack = sum((CENT * HUNDRED / c.rate for c, _ in choices if c.rate), CENT)  # taxes are rounded to øre
        if abs(taxed) > abs(net) + slack:  # stacked rates (several priorities on one base), not apportioned
            raise PlanHold(f"{what} is taxed at several rates on the same amount ({ids}); book it by hand")
        rest = [c for c, s in shares if s is None]
        out = [(c, s) for c, s in shares if s is not None]
        if rest:
            out.insert(0, (rest[0], net - taxed))  # several 0 % rates: the first carries it, VAT 0 either way
        else:
            out[0] = (out[0][0], out[0][1] + net - taxed)
        return [(c, amount) for c, amount in out if amount] or out[:1]

    def untaxed(self) -> VatChoice:
        if isinstance(self._untaxed, str):
            raise PlanHold(self._untaxed)
        code = self._untaxed.code
        check_rate(code, ZERO_RATE, self._codes, f"set the [vat] key that names {code!r} to a 0 % code")
        return self._untaxed

    def _untaxed_choice(self, order: Order, vat_number: str) -> VatChoice | str:
        """VAT code for untaxed lines, or the reason none can be chosen (raised only if used)."""
        vat = self._vat
        country = customer_country(order, vat)
        in_eu = country in vat.eu_countries
        if str(order.meta("is_vat_exempt") or "").lower() == "yes":
            if in_eu and country != vat.home_country and vat_number:
                return VatChoice(vat.reverse_charge, ZERO_RATE)
            return f"order is VAT exempt (is_vat_exempt = yes) but is not an EU B2B sale with a VAT number ({country})"
        if country and not in_eu:
            return VatChoice(vat.export, ZERO_RATE)
        if not country or country == vat.home_country:
            return VatChoice(vat.zero_rated, ZERO_RATE)
        # An untaxed line to an EU consumer abroad is not a domestic zero-rated sale: booking it as such
        # would misreport OSS, so a human decides (usually a rate is missing for that tax class).
        return f"no VAT was charged on a sale to a consumer in {country} (EU): is a tax rate missing in WooCommerce?"


def vat_targets(tax_lines: Sequence[TaxLine], vat: OrderVat, sign: Decimal = Decimal(1)) -> dict[str, Decimal]:
    """What the customer paid per VAT code: ``tax_total + shipping_tax_total`` per rate id (woocommerce.md
    §11.4), never ``taxes[]`` (those are rounded half up for display; the totals were rounded half down)."""
    out: dict[str, Decimal] = {}
    for line in tax_lines:
        code = vat.for_rate_id(line.rate_id, f"tax line {describe_rate(line)}").code
        out[code] = out.get(code, ZERO) + sign * (line.tax_total + line.shipping_tax_total)
    return out


def add_targets(*parts: Mapping[str, Decimal]) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for part in parts:
        for code, amount in part.items():
            out[code] = out.get(code, ZERO) + amount
    return out
