"""The mail room's part of the status page: the outbox, a preview of any invoice's mail, resend.

Resend changes state, so it refuses cross-site requests exactly like the Retry button."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from aiohttp import web

from agent.clock import iso
from agent.journal import Journal
from agent.journal.mail import MAIL_STATES, MailJournal, OutboxMail
from agent.mail.preview import NothingToPreview, preview
from agent.mail.render import TemplateError
from agent.web.api import same_origin
from agent.web.page import _next_url, _render

# The rendered HTML of a customer's mail is shown as its own document, with nothing it could load or run.
PREVIEW_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'self'; sandbox",
    "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store",
}  # fmt: skip


def mail_json(mail: OutboxMail) -> dict[str, Any]:
    return mail.as_json()


def _journal(request: web.Request) -> Journal:
    from agent.keys import JOURNAL

    return request.app[JOURNAL]


async def _outbox(request: web.Request) -> web.Response:
    state = request.query.get("state") or None
    if state is not None and state not in MAIL_STATES:
        raise web.HTTPBadRequest(text=f"state must be one of {', '.join(MAIL_STATES)}")
    outbox = MailJournal(_journal(request))
    mails = [mail_json(m) for m in await outbox.recent(state=state, limit=200)]
    return _render("mail.html", mails=mails, counts=await outbox.counts(), state=state, states=MAIL_STATES,
                   worker=_worker_state(request))  # fmt: skip


def _worker_state(request: web.Request) -> dict[str, Any]:
    from agent.mail.app import MAIL

    parts = request.app[MAIL]
    worker, alerts = parts.worker, parts.alerts
    return {
        "enabled": parts.cfg.enabled, "template_error": worker.template_error if worker else None,
        "last_error": worker.last_error if worker else None, "sent": worker.sent if worker else 0,
        "last_error_at": iso(worker.last_error_at) if worker and worker.last_error_at else None,
        "alerts_last_error": alerts.last_error if alerts else None,
        "alerts_last_error_at": iso(alerts.last_error_at) if alerts and alerts.last_error_at else None,
    }  # fmt: skip


async def _api_outbox(request: web.Request) -> web.Response:
    outbox = MailJournal(_journal(request))
    mails = [mail_json(m) for m in await outbox.recent(state=request.query.get("state") or None, limit=200)]
    return web.json_response({"counts": await outbox.counts(), "mails": mails, "worker": _worker_state(request)})


async def _rendered(request: web.Request) -> tuple[int, Any]:
    from agent.mail.app import MAIL

    raw = request.match_info["order_id"]
    if not raw.isdigit():
        raise web.HTTPBadRequest(text="an order id is a number")
    parts = request.app[MAIL]
    try:
        return int(raw), await preview(_journal(request), parts.cfg, parts.env, int(raw))
    except NothingToPreview as exc:
        raise web.HTTPNotFound(text=str(exc)) from None
    except TemplateError as exc:
        raise web.HTTPInternalServerError(text=f"template error: {exc}") from None


async def _preview(request: web.Request) -> web.Response:
    order_id, rendered = await _rendered(request)
    return _render("mail_preview.html", order_id=order_id, mail=rendered)


async def _preview_html(request: web.Request) -> web.Response:
    _, rendered = await _rendered(request)
    return web.Response(text=rendered.html or "", content_type="text/html", charset="utf-8", headers=PREVIEW_HEADERS)


async def _resend(request: web.Request) -> web.Response:
    if not same_origin(request):
        raise web.HTTPForbidden(text="cross-site request refused")  # a web page must not drive the agent
    from agent.mail.app import MAIL

    reference = request.match_info["reference"]
    outbox = MailJournal(_journal(request))
    mail = await outbox.get(reference)
    if mail is None:
        raise web.HTTPNotFound(text="no such mail")
    if not await outbox.resend(reference):
        raise web.HTTPConflict(text=f"a {mail.state} mail cannot be resent")
    if mail.work_key:
        await _journal(request).add_event(mail.work_key, f"mail {reference}: resend requested from the status page")
    worker = request.app[MAIL].worker
    if worker is not None:
        worker.wake()
    form = await request.post()
    raise web.HTTPSeeOther(_next_url(form.get("next"), f"/mail#{quote(reference, safe='')}"))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/mail", _outbox)
    app.router.add_get("/api/mail", _api_outbox)
    app.router.add_get("/mail/preview/{order_id}", _preview)
    app.router.add_get("/mail/preview/{order_id}/html", _preview_html)
    app.router.add_post("/mail/{reference:.+}/resend", _resend)  # a reference holds a "/": shop-dk/order-17
