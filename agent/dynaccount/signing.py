"""Dynaccount request building and X-Hash signing (sans-I/O, spec §1.2-§1.4).

The hash covers the exact bytes that travel: host (no scheme) + raw path and query + raw body + secret.
So the client builds the query string and body once, hashes them, and sends those same bytes; the
sandbox recomputes the hash from what it received. Both use :func:`sign`.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import quote_plus

API_VERSION = "v7"
PRODUCTION_HOST = "api.dynaccount.com"

FormValue = str | int | Decimal | bool | None
Pairs = list[tuple[str, str]]


def sign(url_without_scheme: str, body: bytes, secret: str) -> str:
    """Lowercase hex SHA-1 of URL-without-scheme + body + secret (spec §1.4, A-2)."""
    digest = hashlib.sha1(usedforsecurity=False)
    digest.update(url_without_scheme.encode("utf-8"))
    digest.update(body)
    digest.update(secret.encode("utf-8"))
    return digest.hexdigest()


def verify(url_without_scheme: str, body: bytes, secret: str, received: str | None) -> bool:
    """Constant-time comparison of a received X-Hash with the expected one."""
    if not received:
        return False
    expected = sign(url_without_scheme, body, secret)
    return hmac.compare_digest(expected.encode("ascii"), received.strip().lower().encode("ascii", "replace"))


def form_value(value: FormValue) -> str:
    """Render a Python value the way Dynaccount expects it in a form (spec §8)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "YES" if value else "NO"
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def encode_pairs(pairs: Iterable[tuple[str, str]], *, safe: str = "") -> str:
    """PHP ``urlencode``-style encoding (space → ``+``); ``safe`` keeps characters literal."""
    return "&".join(f"{quote_plus(k, safe='[]')}={quote_plus(v, safe=safe)}" for k, v in pairs)


def build_query(
    *,
    select: Sequence[str] | None = None,
    filters: Mapping[str, FormValue] | None = None,
    order: Sequence[str] | str | None = None,
    limit: tuple[int, int] | None = None,
) -> str:
    """``select=…&<filters>&order=…&limit=offset,count`` in PHP-lib order (spec §2.1, A-33).

    Commas stay literal as in Docs-v7; the space before ``desc`` becomes ``+``.
    """
    pairs: Pairs = []
    if select:
        pairs.append(("select", ",".join(select)))
    for key, value in (filters or {}).items():
        if key in ("select", "order", "limit"):
            raise ValueError(f"{key!r} is a reserved word, not a filter")
        pairs.append((key, form_value(value)))
    if order:
        pairs.append(("order", order if isinstance(order, str) else ",".join(order)))
    if limit is not None:
        pairs.append(("limit", f"{limit[0]},{limit[1]}"))
    return encode_pairs(pairs, safe=",")


def build_body(fields: Mapping[str, FormValue]) -> bytes:
    """A single-row form body: ``col=value&…`` in the given order."""
    return encode_pairs((k, form_value(v)) for k, v in fields.items()).encode("ascii")


def build_bulk_body(rows: Sequence[Mapping[str, FormValue]]) -> bytes:
    """Column-major bulk body ``col[0]=…&col[1]=…`` (spec §2.3, PHP-lib ``sequential_array``)."""
    columns: list[str] = []
    for row in rows:
        columns.extend(c for c in row if c not in columns)
    pairs = [
        (f"{column}[{index}]", form_value(row.get(column)))
        for column in columns
        for index, row in enumerate(rows)
    ]
    return encode_pairs(pairs).encode("ascii")


def build_path(api_id: str, api_key: str, method: str, name: str, row_id: int | str | None = None) -> str:
    """``/v7/{api_id}/{api_key}/{method}/{name}/[{id}/]``; empty/zero segments are dropped (spec §1.2)."""
    segments: list[Any] = [API_VERSION, api_id, api_key, method, name, row_id]
    kept = [str(s) for s in segments if s not in (None, "", 0, "0")]
    return "/" + "/".join(kept) + "/"


def request_target(path: str, query: str) -> str:
    """Path plus ``?query`` when there is one."""
    return f"{path}?{query}" if query else path
