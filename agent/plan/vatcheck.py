"""``check --dynaccount``: every VAT code the configuration maps to, against Dynaccount's own codes.

A mapped code Dynaccount lacks, or whose rate differs from the rate it is mapped for, would hold every
order that needs it (the planner never books a line on a code of another rate); this reports them
before the first order does.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from agent.plan.eurates import oss_codes, percent_key
from agent.plan.settings import VatSettings

ZERO = Decimal(0)


def expected_codes(vat: VatSettings) -> dict[str, tuple[Decimal | None, str]]:
    """Code → (rate it must have, or None if unknown; the config key that names it)."""
    out: dict[str, tuple[Decimal | None, str]] = {}
    if vat.oss_code:
        for code, rate in oss_codes(vat.oss_code, vat.home_country).items():
            out[code] = (rate, "[vat] oss_code")
    for key, code in vat.by_country_rate.items():
        out[code] = (_rate(key), f'[vat] by_country_rate "{key}"')
    for key in ("zero_rated", "reverse_charge", "export"):
        out[getattr(vat, key)] = (ZERO, f"[vat] {key}")
    for rate_id, code in vat.by_rate_id.items():
        out.setdefault(code, (None, f'[vat] by_rate_id "{rate_id}"'))
    out.pop("", None)  # no_vat = "" means no code at all
    return out


def _rate(key: str) -> Decimal | None:
    try:
        return Decimal(key.partition(":")[2])
    except InvalidOperation:
        return None


def problems(vat: VatSettings, codes: Mapping[str, Decimal]) -> list[str]:
    out = []
    for code, (rate, key) in sorted(expected_codes(vat).items()):
        have = codes.get(code)
        if have is None:
            want = f" with rate {percent_key(rate)} %" if rate is not None else ""
            out.append(f"{key}: Dynaccount has no VAT code {code!r}; create it{want}")
        elif rate is not None and have != rate:
            out.append(f"{key}: VAT code {code!r} has rate {percent_key(have)} % in Dynaccount, "
                       f"mapped for {percent_key(rate)} %")  # fmt: skip
    return out
