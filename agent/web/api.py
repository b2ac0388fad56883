"""The JSON API, /healthz and the one retry handler the API and the status page share."""

from __future__ import annotations

import base64
import hmac
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Handler

from agent.config import Config
from agent.ids import parse_work_key
from agent.keys import CONFIG, INTAKE, JOURNAL, SERVICES
from agent.web import status

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SECURITY_HEADERS = {
    # on every answer, JSON and errors included: no sniffing a JSON body into HTML, no framing
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'",
    "Referrer-Policy": "same-origin",
}
OPEN_PATHS = frozenset({"/healthz"})  # no login: monitors and probes use it


def _host_name(host: str) -> str:
    """The name of a Host header or an Origin's authority, without the port ([::1]:8787 -> ::1)."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0] if host.count(":") == 1 else host


LOOPBACK = ("localhost", "127.0.0.1", "::1")  # never a rebinding vector: the Host header names the attacker's domain


def allowed_hosts(config: Config) -> frozenset[str]:
    server = config.server
    names = [*(server.allowed_hosts or [server.host]), *LOOPBACK]
    return frozenset(_host_name(n) if n.count(":") == 1 or n.startswith("[") else n.lower() for n in names)


def _bearer_ok(request: web.Request, config: Config) -> bool:
    token = config.server.auth_token.get_secret_value()
    given = request.headers.get("Authorization", "")
    return bool(token) and given.startswith("Bearer ") and hmac.compare_digest(given[7:].encode(), token.encode())


def _basic_ok(request: web.Request, config: Config) -> bool:
    user, password = config.server.auth_user, config.server.auth_password.get_secret_value()
    given = request.headers.get("Authorization", "")
    if not user or not given.startswith("Basic "):
        return False
    try:
        sent = base64.b64decode(given[6:], validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        return False
    return hmac.compare_digest(sent.encode(), f"{user}:{password}".encode())


def logged_in(request: web.Request, config: Config) -> bool:
    server = config.server
    if not server.auth_token.get_secret_value() and not server.auth_user:
        return True
    return _bearer_ok(request, config) or _basic_ok(request, config)


def same_origin(request: web.Request) -> bool:
    """The proof a state-changing request must carry (the ONE check, for every POST route).

    Either the bearer token (a browser never adds it by itself), or what a browser adds to its own
    form posts: ``Origin`` naming this very host, and ``Sec-Fetch-Site`` absent, ``same-origin`` or
    ``none``. A request with no ``Origin`` at all is refused: only a script can send one, and a script
    can as well send ``Origin`` or the token.
    """
    config = request.app[CONFIG]
    if _bearer_ok(request, config):
        return True
    if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
        return False
    origin = request.headers.get("Origin")
    if origin is None or "://" not in origin:
        return False
    authority = origin.split("://", 1)[1].rstrip("/").lower()
    return authority == request.host.lower() and _host_name(authority) in allowed_hosts(config)


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every route but the (signed) webhook: known Host, login if configured, same-origin for writes."""
    config = request.app[CONFIG]
    if request.path == request.app[WEBHOOK].path:
        return await handler(request)
    if _host_name(request.host) not in allowed_hosts(config):
        raise web.HTTPMisdirectedRequest(text="unknown host name (add it to [server] allowed_hosts)")
    if request.path not in OPEN_PATHS and not logged_in(request, config):
        raise web.HTTPUnauthorized(text="login required", headers={"WWW-Authenticate": 'Basic realm="agent"'})
    if request.method not in SAFE_METHODS and not same_origin(request):
        raise web.HTTPForbidden(text="cross-site request refused")  # a web page must not drive the agent
    return await handler(request)


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)


async def requeue(request: web.Request) -> str:
    """The retry/replay button: make an existing item due now and wake the worker; returns the work key.

    Only a canonical key (``agent.ids``) of an item the journal holds is re-queued; anything else is
    404 with no write, so ``order:032`` cannot become a second item (and a second invoice) for order 32.
    """
    if not same_origin(request):
        raise web.HTTPForbidden(text="cross-site request refused")  # a web page must not drive the agent
    journal = request.app[JOURNAL]
    key = parse_work_key(request.match_info["key"])
    if key is None or not await journal.requeue(key):
        raise web.HTTPNotFound(text="no such work item")
    await journal.add_event(key, "retry requested from the status page")
    services = request.app.get(SERVICES)
    if services is not None:
        services.worker.wake()
    return key


async def _retry(request: web.Request) -> web.Response:
    key = await requeue(request)
    return web.json_response({"ok": True, "key": key})


async def _webhook(request: web.Request) -> web.Response:
    return await request.app[INTAKE].handle(request)


async def _status(request: web.Request) -> web.Response:
    app = request.app
    return web.json_response(await status.status_payload(app[JOURNAL], app[INTAKE], app.get(SERVICES)))


async def _healthz(request: web.Request) -> web.Response:
    return await status.healthz(request.app[JOURNAL], request.app.get(SERVICES))


def _limit(request: web.Request) -> int:
    try:
        return max(1, min(1000, int(request.query.get("limit", "100"))))
    except ValueError:
        raise web.HTTPBadRequest(text="limit must be a number") from None


async def _work(request: web.Request) -> web.Response:
    items = await status.work_list(request.app[JOURNAL], request.query.get("state"), _limit(request))
    return web.json_response({"items": items})


async def _work_item(request: web.Request) -> web.Response:
    detail = await status.work_detail(request.app[JOURNAL], request.match_info["key"])
    if detail is None:
        raise web.HTTPNotFound(text="no such work item")
    return web.json_response(detail)


async def _deliveries(request: web.Request) -> web.Response:
    rows = await status.deliveries_list(request.app[JOURNAL], request.query.get("state"), _limit(request))
    return web.json_response({"deliveries": rows})


@dataclass(frozen=True)
class _Webhook:
    path: str


WEBHOOK = web.AppKey("webhook_path", _Webhook)


def add_routes(app: web.Application, webhook_path: str) -> None:
    app[WEBHOOK] = _Webhook(webhook_path)
    app.middlewares.append(guard)
    app.on_response_prepare.append(_security_headers)
    app.router.add_post(webhook_path, _webhook)
    app.router.add_get("/api/status", _status)
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/api/work", _work)
    app.router.add_get("/api/work/{key}", _work_item)
    app.router.add_post("/api/work/{key}/retry", _retry)
    app.router.add_get("/api/deliveries", _deliveries)
