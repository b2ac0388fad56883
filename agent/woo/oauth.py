"""OAuth 1.0a one-legged request signing as WooCommerce checks it over plain HTTP (spec §5.1), pure.

WooCommerce's check (``WC_REST_Authentication::check_oauth_signature``, WooCommerce 10.0.2): the
parameters are sorted by their raw keys (``uksort``/``strcmp``), keys and values are percent-encoded
(``normalize_parameters``), each ``key=value`` pair is then percent-encoded **again** as a whole
(``join_with_equals_sign``: ``=`` becomes ``%3D``, ``%`` becomes ``%25``) and the pairs are joined with
``%26``. So a value is encoded twice, as RFC 5849 §3.4.1.3 has it: ``2026-11-24T05:56:49`` appears as
``2026-11-24T05%253A56%253A49``. (An earlier version encoded once; a real shop answered 401 to every
request with such a query value.) No token: the key is ``consumer_secret + "&"``. The base URI is the URL
without its query string.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import string
import time
from collections.abc import Mapping
from urllib.parse import quote

_ALNUM = string.ascii_letters + string.digits


def _enc(value: str) -> str:
    return quote(value, safe="-._~")


def base_string(method: str, url: str, params: Mapping[str, str]) -> str:
    """The string WooCommerce signs: ``METHOD&enc(url)&enc(enc(k)=enc(v))%26…`` (raw keys sorted)."""
    ordered = sorted((k.encode(), k, v) for k, v in params.items() if k != "oauth_signature")
    pairs = [_enc(f"{_enc(k)}={_enc(v)}") for _, k, v in ordered]
    return f"{method.upper()}&{_enc(url)}&{'%26'.join(pairs)}"


def signature(method: str, url: str, params: Mapping[str, str], consumer_secret: str,
              token_secret: str = "", algorithm: str = "HMAC-SHA1") -> str:
    digest = hashlib.sha256 if algorithm == "HMAC-SHA256" else hashlib.sha1
    key = f"{_enc(consumer_secret)}&{_enc(token_secret)}".encode()
    mac = hmac.new(key, base_string(method, url, params).encode(), digest).digest()
    return base64.b64encode(mac).decode("ascii")


def sign_params(method: str, url: str, params: Mapping[str, str], consumer_key: str, consumer_secret: str, *,
                nonce: str | None = None, timestamp: int | None = None) -> dict[str, str]:
    """``params`` plus the ``oauth_*`` query parameters for one request (``url`` without query)."""
    signed = dict(params)
    signed.update({
        "oauth_consumer_key": consumer_key,
        "oauth_nonce": nonce or "".join(secrets.choice(_ALNUM) for _ in range(32)),
        "oauth_signature_method": "HMAC-SHA1",
        "oauth_timestamp": str(int(time.time()) if timestamp is None else timestamp),
    })
    signed["oauth_signature"] = signature(method, url, signed, consumer_secret)
    return signed


def verify_params(method: str, url: str, params: Mapping[str, str], consumer_secret: str) -> bool:
    """Server side (the sandbox): does ``oauth_signature`` match? Timestamp/nonce are checked elsewhere."""
    given = params.get("oauth_signature", "")
    algorithm = params.get("oauth_signature_method", "")
    if algorithm not in ("HMAC-SHA1", "HMAC-SHA256"):
        return False
    expected = signature(method, url, params, consumer_secret, algorithm=algorithm)
    return hmac.compare_digest(expected.encode(), given.replace(" ", "+").encode())
