"""The local status page: server-rendered HTML over the same read-only views as the status JSON.

Plain HTML forms and links, no script: the page works in any browser and under a strict CSP. The one
write, the Retry button, refuses cross-site requests exactly like ``POST /api/work/{key}/retry``.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from aiohttp import web

from agent.importer import Importer, progress_json
from agent.journal import WORK_STATES, Journal, Link, OrderFacts
from agent.journal.mail import MailJournal
from agent.journal.ops import OpsJournal
from agent.keys import CONFIG, INTAKE, JOURNAL, SERVICES
from agent.web import files, status
from agent.web.api import requeue
from agent.web.worklist import BadFilter, local, local_z, work_section

UNUSABLE_DELIVERIES = ("invalid_json", "unknown_topic", "error_payload")
RETRYABLE = ("failed", "held", "skipped", "waiting")
HEADERS = {
    # the Retry button must not be clickable from inside someone else's frame
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

if TYPE_CHECKING:
    import jinja2


@cache
def _environment() -> jinja2.Environment:
    """Built at the first page anyone asks for: an idle daemon never loads Jinja (issue 17: idle RSS)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("agent", "templates/status"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["RETRYABLE"] = RETRYABLE
    env.filters["local"] = local_z  # {{ iso_z|local(tz) }}: times in the shop's time zone
    return env


def _render(name: str, **context: Any) -> web.Response:
    html = _environment().get_template(name).render(**context)
    return web.Response(text=html, content_type="text/html", charset="utf-8", headers=HEADERS)


def health(payload: dict[str, Any], journal_ok: bool) -> list[str]:
    """What needs the shop owner's eye; an empty list means the agent is healthy."""
    problems = [] if journal_ok else ["the journal cannot be read"]
    worker, sweep = payload.get("worker"), payload.get("sweep")
    if worker is None:
        problems.append("worker and sweep are not running (intake-only mode)")
    elif worker["paused"]:
        problems.append(f"worker paused: {worker['paused']}")
    if worker and worker.get("last_error"):
        problems.append(f"worker failed at {worker['last_error_at']}: {worker['last_error']}")
    if sweep and sweep["last_error"]:
        problems.append(f"sweep failed: {sweep['last_error']}")
    failed = payload["work"].get("failed", 0)
    if failed:
        problems.append(f"{failed} work item(s) failed")
    problems += [a["message"] for a in payload["attention"]]
    return problems


async def unusable_deliveries(journal: Journal, limit: int) -> list[dict[str, Any]]:
    rows = [d for state in UNUSABLE_DELIVERIES for d in await status.deliveries_list(journal, state, limit)]
    return sorted(rows, key=lambda d: int(d["id"]), reverse=True)[:limit]


async def _index(request: web.Request) -> web.Response:
    from agent.web.stock import section as stock_section  # it renders through this module

    journal = request.app[JOURNAL]
    tz = ZoneInfo(request.app[CONFIG].server.timezone)
    try:
        work = await work_section(journal, request.query, tz)
    except BadFilter as exc:
        raise web.HTTPBadRequest(text=str(exc)) from None
    payload = await status.status_payload(journal, request.app[INTAKE], request.app.get(SERVICES))
    try:
        journal_ok = await journal.ping()
    except Exception:  # an unusable journal is exactly what the header reports
        journal_ok = False
    return _render(
        "index.html", s=payload, problems=health(payload, journal_ok), state=work["filter"].get("state"),
        states=WORK_STATES, work_list=work, tz=tz, deliveries=await unusable_deliveries(journal, 50),
        imp=progress_json(await Importer(journal).state()),
        mail=await _mail_counts(journal),
        webhook_events=[(local(e.at, tz), e.message) for e in await OpsJournal(journal).webhook_events(5)],
        files=await files.card(request),
        stock=await stock_section(request.app),
    )  # fmt: skip


async def _mail_counts(journal: Journal) -> dict[str, int]:
    return await MailJournal(journal).counts()


def _document(title: str, link: Link, note: str = "") -> dict[str, Any]:
    plan = link.data.get("plan")
    return {
        "title": title, "note": note, "state": link.state, "number": link.dyn_number, "id": link.dyn_id,
        "reference": link.reference, "amount": link.amount, "plan": plan if isinstance(plan, dict) else None,
    }  # fmt: skip


async def documents(journal: Journal, key: str) -> list[dict[str, Any]]:
    """What exists in Dynaccount for this item: the invoice, its credit notes, the payment."""
    kind, _, woo_id = key.partition(":")
    if kind == "file":  # a file order's documents are in the file namespace (agent/journal/files.py)
        facts = await files.order_facts(journal, woo_id)
        return _order_documents(facts) if facts is not None else []
    if kind == "order" and woo_id.isdigit():
        return _order_documents(await journal.order_facts(woo_id))
    link = await journal.get_link(kind, woo_id)
    return [_document("Invoice" if kind == "order" else kind.capitalize(), link)] if link is not None else []


def _order_documents(facts: OrderFacts) -> list[dict[str, Any]]:
    docs = [_document("Invoice", facts.invoice)] if facts.invoice is not None else []
    for refund in sorted(facts.refunds.values(), key=lambda r: r.updated_at, reverse=True):
        docs.append(_document("Credit note", refund, f"for refund {refund.woo_id}"))
    if facts.payment is not None:
        docs.append(_document("Payment registration", facts.payment))
    return docs


async def _work(request: web.Request) -> web.Response:
    journal = request.app[JOURNAL]
    key = request.match_info["key"]
    detail = await status.work_detail(journal, key)
    if detail is None:
        raise web.HTTPNotFound(text="no such work item")
    docs = await documents(journal, key)
    applied = [d["plan"] for d in docs if d["plan"] is not None]
    latest = detail["plan"] if detail["plan"] not in applied else None  # shown once, with its document
    mails = [m.as_json() for m in await MailJournal(journal).for_work(key)]
    tz = ZoneInfo(request.app[CONFIG].server.timezone)
    return _render("work.html", w=detail, documents=docs, latest_plan=latest, key=key, mails=mails, tz=tz)


def _next_url(value: Any, default: str) -> str:
    """Only a path on this page may be the redirect target (no open redirect)."""
    if isinstance(value, str) and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return default


async def _retry(request: web.Request) -> web.Response:
    key = await requeue(request)
    form = await request.post()
    raise web.HTTPSeeOther(_next_url(form.get("next"), f"/work/{quote(key, safe='')}"))


_CSS = resources.files("agent").joinpath("static/status.css")


async def _css(request: web.Request) -> web.Response:
    return web.Response(text=_CSS.read_text(encoding="utf-8"), content_type="text/css",
                        headers={"Cache-Control": "max-age=300", "X-Content-Type-Options": "nosniff"})  # fmt: skip


def add_routes(app: web.Application) -> None:
    """Register the page's routes on the agent's application."""
    app.router.add_get("/", _index)
    app.router.add_get("/work/{key}", _work)
    app.router.add_post("/work/{key}/retry", _retry)
    app.router.add_get("/static/status.css", _css)
