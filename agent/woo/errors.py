"""One exception family for WooCommerce REST calls (spec §5.3 error format).

``WooConnectionError`` (network, TLS, timeout) and ``WooUnavailable`` (5xx, 429) are transient;
``WooAuthError`` (401/403) needs the user; ``WooRejected`` (other 4xx, and the refund controller's
HTTP 500 with a bare-number ``data``) is permanent for that request. Messages never contain secrets.
"""

from __future__ import annotations

from typing import Any


class WooError(Exception):
    """Base of everything the WooCommerce client raises."""


class WooConnectionError(WooError):
    """The shop could not be reached (DNS, refused, TLS, timeout)."""


class WooUnavailable(WooError):
    """The shop answered but cannot serve now (5xx, 429); try again after ``retry_after`` seconds if given."""

    def __init__(self, message: str, *, status: int = 503, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class WooResponseError(WooError):
    """An error body ``{code, message, data}`` from WooCommerce/WordPress."""

    def __init__(self, code: str, message: str, status: int, params: dict[str, Any] | None = None,
                 data: Any = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.params = params or {}
        self.data = data


class WooAuthError(WooResponseError):
    """Credentials missing, wrong, or without the needed permission (401/403)."""


class WooRejected(WooResponseError):
    """The request was refused as such (400/404/409/413…); repeating it will not help."""


class WooNotFound(WooRejected):
    """404, or WooCommerce's ``*_invalid_id`` (which ``PUT`` reports as 400)."""


def error_from_response(status: int, body: Any, retry_after: float | None = None) -> WooError:
    """Map an HTTP status and (parsed) body to the exception family."""
    code, message, data = "http_error", f"HTTP {status}", None
    if isinstance(body, dict):
        code = str(body.get("code") or code)
        message = str(body.get("message") or message)
        data = body.get("data")
    params = data.get("params") if isinstance(data, dict) and isinstance(data.get("params"), dict) else None
    if status in (401, 403):
        return WooAuthError(code, message, status, params, data)
    woo_error_500 = status == 500 and code.startswith("woocommerce_rest_") and not isinstance(data, dict)
    if status == 429 or (status >= 500 and not woo_error_500):
        return WooUnavailable(f"{status} {code}: {message}", status=status, retry_after=retry_after)
    if status == 404 or code.endswith("_invalid_id"):
        return WooNotFound(code, message, status, params, data)
    return WooRejected(code, message, status, params, data)
