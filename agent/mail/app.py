"""Wiring of the mail room into the agent's application: one cleanup context, own routes."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import jinja2
from aiohttp import web

from agent.dynaccount.client import DynaccountClient
from agent.mail.alerts import AlertEngine
from agent.mail.config import MailConfig
from agent.mail.health import JournalProblems, SystemHealth
from agent.mail.outbox import Mailer
from agent.mail.render import TemplateError, environment
from agent.mail.smtp import SmtpSender
from agent.mail.templates import check_templates
from agent.mail.worker import MailWorker, PdfSource

log = logging.getLogger(__name__)


@dataclass
class MailParts:
    cfg: MailConfig
    env: jinja2.Environment
    mailer: Mailer | None = None
    worker: MailWorker | None = None
    alerts: AlertEngine | None = None


MAIL = web.AppKey("mail", MailParts)


def pdf_source(dyn: DynaccountClient) -> PdfSource:
    """A-21 lives in the client (``invoice_pdf`` / ``creditnote_pdf``); this only picks one."""

    async def fetch(kind: str, number: int) -> bytes:
        return await (dyn.invoice_pdf(number) if kind == "invoice" else dyn.creditnote_pdf(number))

    return fetch


async def _mail_ctx(app: web.Application) -> AsyncIterator[None]:
    from agent.app import AUTOSTART, CLOCK, CONFIG, JOURNAL, SERVICES  # app.py imports this module

    config, journal, clock, services = app[CONFIG], app[JOURNAL], app[CLOCK], app[SERVICES]
    cfg = config.mail
    parts = app[MAIL]
    if cfg.enabled:
        parts.mailer = Mailer(journal, cfg, clock)
        services.orders.applier.on_booked = parts.mailer.on_booked
        parts.worker = MailWorker(journal, cfg, clock, SmtpSender(cfg), parts.env, pdf_source(services.dyn))
        parts.mailer.on_queued = parts.worker.wake
        problems = check_templates(parts.env)
        parts.worker.template_error = "; ".join(problems) or None
        for problem in problems:
            log.error("mail template: %s (mail waits until it is fixed and the agent restarted)", problem)
        await parts.worker.recover()
        if config.alerts.to:
            health = services.health or SystemHealth(clock, grace_seconds=config.alerts.after_minutes * 60)
            parts.alerts = AlertEngine(
                journal, config.alerts, cfg, clock, [health.problems, JournalProblems(journal).problems],
                agent_name=cfg.shop_name or cfg.from_name or "dynaccount-agent",
                status_url=f"http://{config.server.host}:{config.server.port}/",
            )  # fmt: skip
            parts.alerts.on_queued = parts.worker.wake
    if app[AUTOSTART] and parts.worker is not None:
        parts.worker.start()
        if parts.alerts is not None:
            parts.alerts.start()
    yield
    if parts.alerts is not None:
        await parts.alerts.stop()
    if parts.worker is not None:
        await parts.worker.stop()


def add_mail(app: web.Application, *, background: bool) -> None:
    """Register the mail room: its cleanup context (daemon only) and its status-page routes."""
    from agent.app import CONFIG
    from agent.mail.web import add_routes

    cfg = app[CONFIG].mail
    app[MAIL] = MailParts(cfg, environment(cfg))
    if background:
        app.cleanup_ctx.append(_mail_ctx)
    add_routes(app)


__all__ = ["MAIL", "MailParts", "TemplateError", "add_mail"]
