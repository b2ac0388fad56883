"""JSON the way WordPress writes it (``wp_json_encode`` with default flags), pure.

Compact, ``/`` escaped as ``\\/``, non-ASCII as ``\\uXXXX``; integral floats print without a fraction
(PHP prints ``18`` where Python would print ``18.0``). Money never goes through here as float: REST money
fields are strings already; only WooCommerce's float-typed fields (``price``, ``rate_percent``,
``nominal_amount``) are numbers, passed in as :class:`PhpFloat`.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any


class PhpFloat(float):
    """A float WooCommerce emits as a JSON number (``"price": 71.28``, ``"price": 18``)."""


def php_float(value: Decimal | float | int) -> PhpFloat:
    return PhpFloat(float(value))


def _prepare(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _prepare(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_prepare(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Decimal):
        # Only reached for numbers WooCommerce itself sends as floats; print like PHP would.
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def dumps_wp(payload: Any) -> bytes:
    """Bytes exactly as ``wp_json_encode`` would produce them (what the webhook signature covers)."""
    text = json.dumps(_prepare(payload), ensure_ascii=True, separators=(",", ":"))
    return text.replace("/", "\\/").encode("ascii")


def dumps_rest(payload: Any) -> bytes:
    """REST responses: WordPress sends them the same way."""
    return dumps_wp(payload)
