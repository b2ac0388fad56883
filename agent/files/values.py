"""Raw text from a file → numbers, dates and VAT rates; each parser raises ValueError saying what is wrong."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Literal

_NUMBER = re.compile(r"[+-]?[0-9][0-9., ]*")
_DATES = ("%d-%m-%Y", "%d.%m.%Y", "%d/%m/%Y", "%Y-%m-%d", "%Y%m%d")


def number(text: str, decimal: Literal["auto", ",", "."] = "auto") -> Decimal:
    """``1.234,50`` / ``1234,5`` (decimal comma) or ``1,234.50`` (decimal point); spaces as thousands."""
    raw = text.strip().replace("\u00a0", "").replace(" ", "")
    if not raw or not _NUMBER.fullmatch(raw):
        raise ValueError(f"not a number: {text!r}")
    sep = decimal
    if sep == "auto":
        last_comma, last_point = raw.rfind(","), raw.rfind(".")
        sep = "," if last_comma > last_point else "."
    thousands = "." if sep == "," else ","
    cleaned = raw.replace(thousands, "").replace(sep, ".")
    try:
        return Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(f"not a number: {text!r}") from None


def rate(text: str, decimal: Literal["auto", ",", "."] = "auto") -> Decimal:
    """A VAT rate in percent: ``25``, ``25%``, ``25,00 %``; a fraction below 1 (``0,25``) is read as 25 %."""
    value = number(text.replace("%", ""), decimal)
    if value < 0 or value > 100:
        raise ValueError(f"not a VAT rate: {text!r}")
    return value * 100 if 0 < value < 1 else value


def day(text: str) -> str:
    """A date (Danish ``dd-mm-yyyy``, ``dd.mm.yyyy`` or ISO, optionally with a time) as ISO ``YYYY-MM-DDTHH:MM:SS``."""
    raw = text.strip()
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        return parsed.replace(tzinfo=None).isoformat(timespec="seconds")
    except ValueError:
        pass
    for fmt in _DATES:
        try:
            return datetime.strptime(raw, fmt).isoformat(timespec="seconds")
        except ValueError:
            continue
    raise ValueError(f"not a date (dd-mm-yyyy or yyyy-mm-dd): {text!r}")
