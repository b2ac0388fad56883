"""WooCommerce webhook signatures (sans-I/O).

WooCommerce signs the exact body bytes it sends: base64(HMAC-SHA256(secret, body)).
Verification must run on the raw bytes, never on re-serialised JSON.
"""

from __future__ import annotations

import base64
import hashlib
import hmac


def sign(body: bytes, secret: str) -> str:
    """Return the ``X-WC-Webhook-Signature`` value WooCommerce would send for ``body``."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify(body: bytes, signature: str | None, secret: str) -> bool:
    """Constant-time check of a delivery's signature against ``body``."""
    if not signature or not secret:
        return False
    expected = sign(body, secret)
    return hmac.compare_digest(expected.encode("ascii"), signature.strip().encode("ascii", "replace"))
