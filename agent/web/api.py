"""The JSON API, /healthz and the one retry handler the API and the status page share."""

from __future__ import annotations

from aiohttp import web

from agent.ids import parse_work_key
from agent.keys import INTAKE, JOURNAL, SERVICES
from agent.web import status


def same_origin(request: web.Request) -> bool:
    """A request a browser sends on behalf of another site carries that site's Origin."""
    origin = request.headers.get("Origin")
    return origin is None or origin.split("://", 1)[-1] == request.host


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
    return await status.healthz(request.app[JOURNAL])


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


def add_routes(app: web.Application, webhook_path: str) -> None:
    app.router.add_post(webhook_path, _webhook)
    app.router.add_get("/api/status", _status)
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/api/work", _work)
    app.router.add_get("/api/work/{key}", _work_item)
    app.router.add_post("/api/work/{key}/retry", _retry)
    app.router.add_get("/api/deliveries", _deliveries)
