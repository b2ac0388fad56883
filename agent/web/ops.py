"""The status page's operations views: reconciliation and the OSS report, and the approval queue.

Plain HTML forms, no script, same rules as the rest of the page: every state-changing request must be
same-origin, and who decided comes from an authenticating proxy's ``Remote-User`` header or, on a bare
loopback page, from the name typed into the form (remembered in a same-site cookie).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from aiohttp import web

from agent.approvals import ApprovalError, Approvals
from agent.config import Config
from agent.journal import Journal
from agent.keys import CONFIG, JOURNAL, SERVICES
from agent.reconcile import Gatherer, Period, open_gatherer
from agent.reconcile import oss as oss_format
from agent.reconcile.render import to_dict
from agent.web.api import same_origin
from agent.web.page import _render  # one Jinja environment, one set of security headers

if TYPE_CHECKING:
    from agent.services import Services

NAME_COOKIE = "agent_name"


@dataclass(frozen=True)
class Ctx:
    config: Config
    journal: Journal
    services: Services | None


def _ctx(request: web.Request) -> Ctx:
    app = request.app
    return Ctx(app[CONFIG], app[JOURNAL], app.get(SERVICES))


async def _gatherer(ctx: Ctx) -> Gatherer:
    if ctx.services is None:
        raise web.HTTPServiceUnavailable(text="reconciliation needs the outside systems (not in intake-only mode)")
    return await open_gatherer(ctx.services.woo, ctx.services.dyn, ctx.config.plan, ctx.journal)


def _day(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise web.HTTPBadRequest(text=f"{what} must be a date like 2026-07-31") from None


def _period(request: web.Request, tz: ZoneInfo) -> tuple[date, date]:
    today = datetime.now(tz).date()
    start = _day(request.query["from"], "from") if request.query.get("from") else today.replace(day=1)
    last = _day(request.query["to"], "to") if request.query.get("to") else today
    if last < start:
        raise web.HTTPBadRequest(text="to is before from")
    return start, last


def _quarter(request: web.Request, tz: ZoneInfo) -> str:
    today = datetime.now(tz).date()
    return request.query.get("oss") or f"{today.year}Q{(today.month - 1) // 3 + 1}"


async def reconcile_page(request: web.Request) -> web.Response:
    ctx = _ctx(request)
    tz = ZoneInfo(ctx.config.server.timezone)
    start, last = _period(request, tz)
    quarter = _quarter(request, tz)
    report = oss = None
    if ctx.services is not None:  # opening the page runs it: a bookkeeper comes here for the answer
        gatherer = await _gatherer(ctx)
        report = await gatherer.report(Period(start, last + timedelta(days=1), tz))
        try:
            oss = await gatherer.oss(quarter, tz)
        except ValueError as exc:
            raise web.HTTPBadRequest(text=str(exc)) from None
    return _render("reconcile.html", start=start, last=last, quarter=quarter, report=report, oss=oss)


async def reconcile_api(request: web.Request) -> web.Response:
    ctx = _ctx(request)
    tz = ZoneInfo(ctx.config.server.timezone)
    start, last = _period(request, tz)
    report = await (await _gatherer(ctx)).report(Period(start, last + timedelta(days=1), tz))
    return web.json_response(to_dict(report), status=200)


async def oss_export(request: web.Request) -> web.Response:
    """``/reconcile/oss.csv?oss=2026Q3`` and ``/api/oss?oss=2026Q3``."""
    ctx = _ctx(request)
    try:
        tz = ZoneInfo(ctx.config.server.timezone)
        report = await (await _gatherer(ctx)).oss(_quarter(request, tz), tz)
    except ValueError as exc:
        raise web.HTTPBadRequest(text=str(exc)) from None
    if request.path.endswith(".csv"):
        disposition = f'attachment; filename="oss-{report.quarter}.csv"'
        return web.Response(text=oss_format.to_csv(report), content_type="text/csv",
                            headers={"Content-Disposition": disposition})  # fmt: skip
    return web.json_response(oss_format.to_dict(report))


# -- the approval queue ----------------------------------------------------------------------------


def _approvals(ctx: Ctx) -> Approvals:
    return Approvals(ctx.journal, ctx.services.worker.wake if ctx.services else None)


async def held_page(request: web.Request) -> web.Response:
    ctx = _ctx(request)
    items = await _approvals(ctx).held()
    name = request.headers.get("Remote-User") or request.cookies.get(NAME_COOKIE, "")
    return _render("held.html", items=items, by_name=name, proxy_user=bool(request.headers.get("Remote-User")),
                   message=request.query.get("done", ""), error=request.query.get("error", ""))  # fmt: skip


def _who(request: web.Request, form: Any) -> str:
    by = request.headers.get("Remote-User") or str(form.get("by", "")).strip()
    if not by:
        raise ApprovalError("give your name: every decision is recorded with who took it")
    return by[:80]


async def decide(request: web.Request) -> web.Response:
    if not same_origin(request):
        raise web.HTTPForbidden(text="cross-site request refused")  # a web page must not drive the agent
    ctx, key, action = _ctx(request), request.match_info["key"], request.match_info["action"]
    form = await request.post()
    approvals = _approvals(ctx)
    try:
        by = _who(request, form)
        if action == "approve":
            await approvals.approve(key, by)
        elif action == "dismiss":
            await approvals.dismiss(key, by, str(form.get("reason", "")))
        else:
            await approvals.replan(key, by, [str(form.get("mapping", ""))])
    except ApprovalError as exc:
        raise web.HTTPSeeOther(f"/held?error={_q(str(exc))}") from None
    response = web.HTTPSeeOther(f"/held?done={_q(f'{key}: {action} recorded')}")
    if not request.headers.get("Remote-User"):
        response.set_cookie(NAME_COOKIE, by, httponly=True, samesite="Strict", max_age=365 * 86400)
    raise response


def _q(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/reconcile", reconcile_page)
    app.router.add_get("/reconcile/oss.csv", oss_export)
    app.router.add_get("/api/reconcile", reconcile_api)
    app.router.add_get("/api/oss", oss_export)
    app.router.add_get("/held", held_page)
    app.router.add_post(r"/held/{key}/{action:approve|dismiss|replan}", decide)
