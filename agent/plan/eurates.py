"""EU member states' VAT rates (standard first, then reduced), percent, as of 2025.

The shipped OSS mapping covers exactly these (country, rate) pairs with one naming pattern
(``[vat] oss_code``, default ``OSS-{country}-{rate}``: ``OSS-DE-19``, ``OSS-DE-7``, ``OSS-FR-5.5``).
A pair not listed here needs an explicit ``[vat] by_country_rate`` entry, so a rate a country
introduces later is held with a reason instead of being booked on a guessed code. Super-reduced
and zero rates are included where the country applies them to goods a webshop sells.
"""

from __future__ import annotations

from decimal import Decimal

_RATES: dict[str, tuple[str, ...]] = {
    "AT": ("20", "13", "10"), "BE": ("21", "12", "6"), "BG": ("20", "9"), "CY": ("19", "9", "5", "3"),
    "CZ": ("21", "12"), "DE": ("19", "7"), "DK": ("25",), "EE": ("24", "13", "9"), "ES": ("21", "10", "4"),
    "FI": ("25.5", "14", "10"), "FR": ("20", "10", "5.5", "2.1"), "GR": ("24", "13", "6"), "HR": ("25", "13", "5"),
    "HU": ("27", "18", "5"), "IE": ("23", "13.5", "9", "4.8"), "IT": ("22", "10", "5", "4"),
    "LT": ("21", "12", "5"), "LU": ("17", "14", "8", "3"), "LV": ("21", "12", "5"), "MT": ("18", "12", "7", "5"),
    "NL": ("21", "9"), "PL": ("23", "8", "5"), "PT": ("23", "13", "6"), "RO": ("21", "11"),
    "SE": ("25", "12", "6"), "SI": ("22", "9.5", "5"), "SK": ("23", "19", "5"),
}  # fmt: skip

EU_VAT_RATES: dict[str, tuple[Decimal, ...]] = {cc: tuple(Decimal(r) for r in rates) for cc, rates in _RATES.items()}


def is_eu_rate(country: str, rate: Decimal) -> bool:
    return any(rate == known for known in EU_VAT_RATES.get(country, ()))


def percent_key(rate: Decimal) -> str:
    """``25.0000`` → ``25``, ``12.5`` → ``12.5``: the percent as written in settings keys and code names."""
    return format(rate.normalize(), "f")


def oss_code_name(pattern: str, country: str, rate: Decimal) -> str:
    return pattern.format(country=country, rate=percent_key(rate))


def oss_codes(pattern: str, home_country: str) -> dict[str, Decimal]:
    """Every OSS code name the pattern yields for the shipped rates, with its rate (sandbox seed, ``check``)."""
    return {
        oss_code_name(pattern, cc, rate): rate
        for cc, rates in EU_VAT_RATES.items() if cc != home_country for rate in rates
    }  # fmt: skip
