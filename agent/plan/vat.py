"""WooCommerce tax → Dynaccount VAT code.

A taxed line finds its rate through the rate id in its ``taxes[]`` → the order's ``tax_lines``
entry → the mapping (by rate id, then "country:percent", then OSS). Rate ids, not rate codes,
identify a rate because two rates can share one ``rate_code`` (woocommerce.md §11.9). A line with no
tax gets a code from the order's classification (domestic zero, export, reverse charge).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from agent.plan.settings import PlanSettings, VatSettings
from agent.woo.models import ItemTax, Order, TaxLine

ZERO_RATE = Decimal(0)


class PlanHold(Exception):
    """The order can't be planned safely; the message is shown to the shop owner."""


@dataclass(frozen=True)
class VatChoice:
    code: str
    rate: Decimal  # percent


def percent_key(rate: Decimal) -> str:
    """``25.0000`` → ``25``, ``12.5`` → ``12.5``: the percent as written in settings keys."""
    text = format(rate.normalize(), "f")
    return text


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
    if vat.oss_code and country in vat.eu_countries and country != vat.home_country and line.rate_percent > 0:
        return vat.oss_code.format(country=country)
    return None


def describe_rate(line: TaxLine) -> str:
    return f"rate id {line.rate_id} ({line.rate_code or line.label or '?'}, {percent_key(line.rate_percent)} %)"


def customer_country(order: Order, vat: VatSettings) -> str:
    if vat.tax_country == "shipping":
        return order.shipping.country or order.billing.country
    return order.billing.country or order.shipping.country


class OrderVat:
    """VAT codes for the lines of one order."""

    def __init__(self, order: Order, settings: PlanSettings, vat_number: str) -> None:
        self._vat = settings.vat
        self._rates = {t.rate_id: t for t in order.tax_lines}
        self._untaxed = self._untaxed_choice(order, vat_number)

    def for_taxes(self, taxes: Sequence[ItemTax], what: str) -> VatChoice:
        charged = [t for t in taxes if t.total != 0] or list(taxes)
        ids = {t.id for t in charged}
        if not ids:
            return self.untaxed()
        if len(ids) > 1:
            raise PlanHold(f"{what} is taxed at several rates ({sorted(ids)}); book it by hand")
        rate_id = ids.pop()
        line = self._rates.get(rate_id)
        if line is None:
            raise PlanHold(f"{what} refers to tax rate id {rate_id}, which is not among the order's tax lines")
        code = map_tax_line(line, self._vat)
        if code is None:
            raise PlanHold(f"no VAT code is mapped for tax {describe_rate(line)}; add it to [vat] by_rate_id")
        return VatChoice(code, line.rate_percent)

    def untaxed(self) -> VatChoice:
        if isinstance(self._untaxed, str):
            raise PlanHold(self._untaxed)
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
