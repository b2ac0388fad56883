"""Dynaccount v7 client library: X-Hash signing, typed async client, errors, money rules.

Imports nothing from the rest of ``agent``. See docs/dynaccount.md for the assumptions.
"""

from __future__ import annotations

from .client import DynaccountClient
from .errors import (
    DynaccountAuthError,
    DynaccountBadResponse,
    DynaccountConnectionError,
    DynaccountError,
    DynaccountNotFound,
    DynaccountRejected,
    DynaccountUnavailable,
)

__all__ = [
    "DynaccountAuthError",
    "DynaccountBadResponse",
    "DynaccountClient",
    "DynaccountConnectionError",
    "DynaccountError",
    "DynaccountNotFound",
    "DynaccountRejected",
    "DynaccountUnavailable",
]
