"""Wiring of the mail room into the agent's application: one cleanup context, own routes."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiohttp import web

from agent.config_mail import MailConfig
from agent.dynaccount.client import DynaccountClient
from agent.health.systems import JournalProblems, SweepProblems, SystemHealth
from agent.mail.alerts import AlertEngine
from agent.mail.outbox import Mailer
from agent.mail.render import TemplateError, environment
from agent.mail.smtp import SmtpSender
from agent.mail.templates import check_templates
from agent.mail.worker import MailWorker, PdfSource

if TYPE_CHECKING:
    import jinja2

log = logging.getLogger(__name__)


@dataclass
class MailParts:
    cfg: MailConfig
    mailer: Mailer | None = None
    worker: MailWorker | None = None
    alerts: AlertEngine | None = None
    _env: jinja2.Environment | None = field(default=None, repr=False)

    @property
    def env(self) -> jinja2.Environment:
        """The mail templates' environment, built when first needed (the worker's start, a preview): a
        daemon without mail never loads Jinja (issue 17: idle RSS)."""
        if self._env is None:
            self._env = environment(self.cfg)
        return self._env


MAIL = web.AppKey("mail", MailParts)


def pdf_source(dyn: DynaccountClient) -> PdfSource:
    """A-21 lives in the client (``invoice_pdf`` / ``creditnote_pdf``); this only picks one."""

    async def fetch(kind: str, number: int) -> bytes:
        return await (dyn.invoice_pdf(number) if kind == "invoice" else dyn.creditnote_pdf(number))

    return fetch


def _alerts(app: web.Application, parts: MailParts) -> AlertEngine:
    from agent.keys import CLOCK, CONFIG, JOURNAL, SERVICES

    config, journal, clock, services = app[CONFIG], app[JOURNAL], app[CLOCK], app[SERVICES]
    grace = config.alerts.after_minutes * 60
    health = services.health or SystemHealth(clock, grace_seconds=grace)
    sweep = SweepProblems(lambda: services.sweep.status()["last_error"], clock, grace_seconds=grace)
    sources = [health.problems, JournalProblems(journal).problems, sweep.problems]
    return AlertEngine(
        journal, config.alerts, parts.cfg, clock, sources,
        agent_name=parts.cfg.shop_name or parts.cfg.from_name or "dynaccount-agent",
        status_url=f"http://{config.server.host}:{config.server.port}/",
    )  # fmt: skip


async def _start_worker(app: web.Application, parts: MailParts) -> MailWorker:
    from agent.keys import CLOCK, JOURNAL, SERVICES

    journal, clock, services = app[JOURNAL], app[CLOCK], app[SERVICES]
    parts.mailer = Mailer(journal, parts.cfg, clock)
    services.orders.applier.on_booked = parts.mailer.on_booked
    worker = MailWorker(journal, parts.cfg, clock, SmtpSender(parts.cfg), parts.env, pdf_source(services.dyn))
    parts.mailer.on_queued = worker.wake
    problems = check_templates(parts.env, parts.cfg)
    worker.template_error = "; ".join(problems) or None
    for problem in problems:
        log.error("mail template: %s (mail waits until it is fixed and the agent restarted)", problem)
    await worker.recover()
    return worker


async def _mail_ctx(app: web.Application) -> AsyncIterator[None]:
    from agent.keys import AUTOSTART, CONFIG

    parts = app[MAIL]
    if parts.cfg.enabled:
        parts.worker = await _start_worker(app, parts)
        if app[CONFIG].alerts.to:
            parts.alerts = _alerts(app, parts)
            parts.alerts.on_queued = parts.worker.wake
    if app[AUTOSTART] and parts.worker is not None:
        parts.worker.start()
        if parts.alerts is not None:
            parts.alerts.start()
    yield
    for name, loop in (("alerts", parts.alerts), ("mail worker", parts.worker)):
        if loop is not None:
            try:  # one loop failing to stop must not keep the other (nor the journal) from stopping
                await loop.stop()
            except Exception:
                log.exception("%s did not stop cleanly", name)


def add_mail(app: web.Application, *, background: bool) -> None:
    """Register the mail room: its cleanup context (daemon only) and its status-page routes."""
    from agent.keys import CONFIG
    from agent.mail.web import add_routes

    cfg = app[CONFIG].mail
    app[MAIL] = MailParts(cfg)
    if background:
        app.cleanup_ctx.append(_mail_ctx)
    add_routes(app)


__all__ = ["MAIL", "MailParts", "TemplateError", "add_mail"]
