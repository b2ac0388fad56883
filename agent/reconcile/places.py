"""Where a Dynaccount VAT code's VAT is owed: the one function that reads (country, rate) from a code.

The rate is Dynaccount's own (``vatcode.rate``, A-31), never parsed from a name. The country of an
OSS code is read from its name through the configured pattern (``[vat] oss_code``, e.g. ``OSS-{country}``
or ``OSS-{country}-{rate}``), so the report follows whatever naming the shop's codes use; a code of
type ``SALE_OSS`` that the pattern does not match still counts when its name carries a member state.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

OSS_TYPE = "SALE_OSS"


@dataclass(frozen=True)
class VatPlace:
    code: str
    country: str  # member state the VAT is owed to ("" when not a sale taxed in a country)
    rate: Decimal  # percent, as Dynaccount computes it
    oss: bool  # reported through the One-Stop-Shop


@dataclass(frozen=True)
class CodeInfo:
    """What the report needs of one Dynaccount VAT code (``get/vatcode``)."""

    name: str
    rate: Decimal
    type: str = ""


def plain_rate(rate: Decimal) -> Decimal:
    """``19.00`` and ``2E+1`` both become ``19`` / ``20``: one key per rate, printed as people write it."""
    return Decimal(format(rate.normalize(), "f"))


def _pattern_regex(pattern: str) -> re.Pattern[str] | None:
    if "{country}" not in pattern:
        return None
    parts = re.split(r"(\{country\}|\{rate\})", pattern)
    groups = {"{country}": r"(?P<country>[A-Z]{2})", "{rate}": r"(?P<rate>[0-9]+(?:[.,][0-9]+)?)"}
    return re.compile("".join(groups.get(p, re.escape(p)) for p in parts) + r"\Z")


def vat_place(code: CodeInfo, *, oss_pattern: str, home_country: str, eu_countries: Iterable[str]) -> VatPlace:
    """(country, rate) of one VAT code; ``oss`` when its VAT is owed to another member state."""
    members = set(eu_countries)
    regex = _pattern_regex(oss_pattern)
    match = regex.match(code.name) if regex else None
    country = match.group("country") if match else ""
    if not country and code.type == OSS_TYPE:
        tokens = [t for t in re.split(r"[^A-Z]+", code.name.upper()) if t in members]
        country = tokens[0] if tokens else ""
    if country in members and country != home_country:
        return VatPlace(code.name, country, plain_rate(code.rate), oss=code.rate > 0)
    return VatPlace(code.name, home_country if code.rate > 0 else "", plain_rate(code.rate), oss=False)
