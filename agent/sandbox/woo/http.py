"""HTTP plumbing of the sandbox's REST API: authentication, error bodies, pagination (spec §5).

Authentication follows ``WC_REST_Authentication``: when WordPress sees HTTPS (a TLS listener, or
``X-Forwarded-Proto: https`` if ``trust_forwarded_proto``) Basic auth or ``consumer_key``/``consumer_secret``
query parameters; otherwise only OAuth 1.0a (query or ``Authorization: OAuth``), with the ±15 min timestamp
window and nonce replay check. No credentials = anonymous, which WooCommerce answers with 401.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from aiohttp import web
from aiohttp.typedefs import Middleware

from agent.sandbox.woo.state import ShopError
from agent.sandbox.woo.wpjson import dumps_rest
from agent.woo import oauth

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
BASIC_REALM = ('Basic realm="WooCommerce API. Use a consumer key in the username field and a consumer secret '
               'in the password field."')
_OAUTH_REQUIRED = ("oauth_consumer_key", "oauth_timestamp", "oauth_nonce", "oauth_signature",
                   "oauth_signature_method")
COMMON_HEADERS = {
    "Access-Control-Expose-Headers": "X-WP-Total, X-WP-TotalPages, Link",
    "Access-Control-Allow-Headers": "Authorization, X-WP-Nonce, Content-Disposition, Content-MD5, Content-Type",
    "X-Content-Type-Options": "nosniff", "X-Robots-Tag": "noindex",
    "Cache-Control": "no-cache, must-revalidate, max-age=0, no-store, private",
}


@dataclass(frozen=True)
class ApiKey:
    consumer_key: str
    consumer_secret: str
    permissions: str = "read_write"  # read | write | read_write


@dataclass
class AuthConfig:
    keys: Sequence[ApiKey]
    trust_forwarded_proto: bool = False
    home: Callable[[], str] = lambda: "http://127.0.0.1/"
    nonces: dict[str, float] = field(default_factory=dict)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=dumps_rest(body), status=status, content_type="application/json", charset="UTF-8",
                        headers={**COMMON_HEADERS, **(headers or {})})


def error_response(code: str, message: str, status: int, *, bare: bool = False,
                   params: dict[str, str] | None = None, headers: dict[str, str] | None = None) -> web.Response:
    data: Any = status
    http_status = 500 if bare else status  # bare-number data: WordPress falls back to HTTP 500
    if not bare:
        data = {"status": status}
        if params:
            data |= {"params": params, "details": {k: {"code": "rest_invalid_param", "message": v, "data": None}
                                                   for k, v in params.items()}}
    return json_response({"code": code, "message": message, "data": data}, http_status, headers)


def shop_error(exc: ShopError) -> web.Response:
    return error_response(exc.code, exc.message, exc.status, bare=exc.bare_data, params=exc.params)


def paginate(request: web.Request, items: list[Any], render: Callable[[Any], Any] | None = None) -> web.Response:
    """One page of ``items``; ``render`` (if given) turns only that page's items into JSON."""
    per_page = _int_param(request, "per_page", 10)
    if not 1 <= per_page <= 100:
        raise ShopError("rest_invalid_param", "Invalid parameter(s): per_page", 400,
                        params={"per_page": "per_page must be between 1 (inclusive) and 100 (inclusive)"})
    page = max(1, _int_param(request, "page", 1))
    pages = max(1, -(-len(items) // per_page))
    chunk = items[(page - 1) * per_page: page * per_page]
    if render is not None:
        chunk = [render(i) for i in chunk]
    headers = {"X-WP-Total": str(len(items)), "X-WP-TotalPages": str(pages)}
    links = []
    if page > 1:
        links.append(f'<{request.url.update_query(page=page - 1)}>; rel="prev"')
    if page < pages:
        links.append(f'<{request.url.update_query(page=page + 1)}>; rel="next"')
    if links:
        headers["Link"] = ", ".join(links)
    return json_response(chunk, headers=headers)


def _int_param(request: web.Request, name: str, default: int) -> int:
    try:
        return int(request.query.get(name, default))
    except ValueError as exc:
        raise ShopError("rest_invalid_param", f"Invalid parameter(s): {name}", 400,
                        params={name: f"{name} is not of type integer."}) from exc


def auth_middleware(config: AuthConfig) -> Middleware:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith("/wp-json/"):
            return await handler(request)
        try:
            key = _authenticate(request, config)
            _authorize(request, key)
            return await handler(request)
        except ShopError as exc:
            headers = {"WWW-Authenticate": BASIC_REALM} if exc.code == "woocommerce_rest_authentication_error" \
                and _is_ssl(request, config) else None
            return error_response(exc.code, exc.message, exc.status, bare=exc.bare_data, params=exc.params,
                                  headers=headers)
    return middleware


def _is_ssl(request: web.Request, config: AuthConfig) -> bool:
    forwarded = request.headers.get("X-Forwarded-Proto", "").lower() == "https"
    return request.secure or (config.trust_forwarded_proto and forwarded)


def _auth_error(message: str) -> ShopError:
    return ShopError("woocommerce_rest_authentication_error", message, 401)


def _find(config: AuthConfig, consumer_key: str) -> ApiKey | None:
    return next((k for k in config.keys if k.consumer_key == consumer_key), None)


def _authenticate(request: web.Request, config: AuthConfig) -> ApiKey | None:
    if _is_ssl(request, config):
        return _basic(request, config)
    return _oauth(request, config)


def _basic(request: web.Request, config: AuthConfig) -> ApiKey | None:
    ck, cs = request.query.get("consumer_key"), request.query.get("consumer_secret")
    if ck is None and "Authorization" in request.headers:
        ck, cs = _decode_basic(request.headers["Authorization"])
    if not ck:
        return None
    key = _find(config, ck)
    if key is None:
        return None  # unknown key: WooCommerce carries on as an anonymous request
    if cs != key.consumer_secret:
        raise _auth_error("Consumer secret is invalid.")
    return key


def _decode_basic(header: str) -> tuple[str | None, str | None]:
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "basic":
        return None, None
    try:
        user, _, password = base64.b64decode(token.strip(), validate=True).decode("utf-8").partition(":")
    except (ValueError, UnicodeDecodeError):
        return None, None
    return user, password


def _oauth_params(request: web.Request) -> dict[str, str]:
    params = dict(request.query)
    header = request.headers.get("Authorization", "")
    if header.startswith("OAuth "):
        for part in header[6:].split(","):
            name, _, value = part.strip().partition("=")
            params[name] = unquote(value.strip('"'))
    return params


def _oauth(request: web.Request, config: AuthConfig) -> ApiKey | None:
    params = _oauth_params(request)
    if not any(k.startswith("oauth_") for k in params):
        return None
    for name in _OAUTH_REQUIRED:
        if not params.get(name):
            raise ShopError("woocommerce_rest_authentication_missing_parameter", f"Missing OAuth parameter {name}",
                            401)
    key = _find(config, params["oauth_consumer_key"])
    if key is None:
        raise _auth_error("Consumer key is invalid.")
    url = config.home().rstrip("/") + request.path
    if not oauth.verify_params(request.method, url, params, key.consumer_secret):
        raise _auth_error("Invalid signature - provided signature does not match.")
    _check_timestamp_and_nonce(config, params["oauth_timestamp"], params["oauth_nonce"])
    return key


def _check_timestamp_and_nonce(config: AuthConfig, timestamp: str, nonce: str) -> None:
    now = time.time()
    try:
        ts = int(timestamp)
    except ValueError as exc:
        raise _auth_error("Invalid timestamp.") from exc
    if abs(ts - now) > 15 * 60:
        raise _auth_error("Invalid timestamp.")
    config.nonces = {n: t for n, t in config.nonces.items() if t > now - 15 * 60}
    if nonce in config.nonces:
        raise _auth_error("Invalid nonce - nonce has already been used.")
    config.nonces[nonce] = now


def _authorize(request: web.Request, key: ApiKey | None) -> None:
    reading = request.method in ("GET", "HEAD")
    if key is None:
        code, message = (("woocommerce_rest_cannot_view", "Sorry, you cannot list resources.") if reading else
                         ("woocommerce_rest_cannot_create", "Sorry, you are not allowed to create resources."))
        raise ShopError(code, message, 401)
    needed = "read" if reading else "write"
    if needed not in key.permissions:
        raise _auth_error(f"The API key provided does not have {needed} permissions.")


async def read_body(request: web.Request) -> dict[str, Any]:
    """A JSON object body, or WordPress's ``rest_invalid_json`` error."""
    try:
        data = await request.json()
    except ValueError as exc:
        raise ShopError("rest_invalid_json", "Invalid JSON body passed.", 400) from exc
    if not isinstance(data, dict):
        raise ShopError("rest_invalid_json", "Invalid JSON body passed.", 400)
    return data
