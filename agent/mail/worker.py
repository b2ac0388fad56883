"""The mail worker: sends due outbox rows one at a time, records each outcome.

At start, rows left 'sending' by a crash become 'unknown' and wait for the owner: SMTP has no
idempotency key, so a mail whose DATA was under way may have arrived, and a second copy of an
invoice (with a second payment) is worse than a human looking once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from agent.clock import Clock
from agent.config_mail import MailConfig
from agent.journal import Journal
from agent.journal.mail import MailJournal, OutboxMail
from agent.mail.render import TemplateError, build_message, pdf_name, render
from agent.mail.smtp import MailRefused, MailRetry, MailUncertain, SmtpSender
from agent.retry import backoff

if TYPE_CHECKING:
    import jinja2  # Jinja is imported when mail is rendered, not at start (issue 17: idle RSS)

log = logging.getLogger(__name__)

PdfSource = Callable[[str, int], Awaitable[bytes]]  # (invoice | creditnote, number) -> PDF bytes


class MailWorker:
    def __init__(self, journal: Journal, cfg: MailConfig, clock: Clock, sender: SmtpSender, env: jinja2.Environment,
                 pdfs: PdfSource | None, *, rand: Callable[[], float] = random.random) -> None:  # fmt: skip
        self._journal = journal
        self.outbox = MailJournal(journal)
        self._cfg = cfg
        self._clock = clock
        self._sender = sender
        self._env = env
        self._pdfs = pdfs
        self._rand = rand
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self.template_error: str | None = None  # set at start: mail waits instead of failing per order
        self.last_error: str | None = None
        self.last_error_at: float | None = None  # when the loop's own round last failed (issue 11)
        self.sent = 0

    def wake(self) -> None:
        self._wake.set()

    async def recover(self) -> list[str]:
        unknown = await self.outbox.recover_sending()
        for reference in unknown:
            mail = await self.outbox.get(reference)
            log.warning("mail %s: interrupted during DATA, marked unknown (not resent automatically)", reference)
            if mail is not None and mail.work_key:
                await self._journal.add_event(mail.work_key, f"mail {reference}: unknown whether it arrived "
                                              "(the agent stopped during sending): check and resend",
                                              level="warning")  # fmt: skip
        return unknown

    async def run_once(self) -> int:
        """Send every mail due now; return how many were tried."""
        if self.template_error is not None:
            return 0
        tried = 0
        while not self._stopping:
            due = await self.outbox.due(10)
            if not due:
                return tried
            for mail in due:
                await self.send_one(mail)
                tried += 1
        return tried

    async def _attachment(self, mail: OutboxMail) -> tuple[str, bytes] | None:
        if mail.kind not in ("invoice", "creditnote") or self._pdfs is None or not mail.number:
            return None
        try:
            data = await self._pdfs(mail.kind, int(mail.number))
        except Exception as exc:  # Dynaccount's own errors: the mail waits and tries again
            raise MailRetry(f"the PDF could not be fetched from Dynaccount: {type(exc).__name__}: {exc}") from exc
        return pdf_name(mail.kind, mail.number), data

    async def send_one(self, mail: OutboxMail) -> str:
        """Try one mail; returns the state it was left in."""
        recipients = [a.strip() for a in mail.recipient.split(",") if a.strip()]
        if mail.kind != "alert":
            recipients += self._cfg.bcc
        try:
            rendered = render(self._env, mail.kind, mail.language, mail.context)
            attachment = await self._attachment(mail)
            message = build_message(self._cfg, rendered, to=recipients[:1] if mail.kind != "alert" else recipients,
                                    message_id=mail.message_id, now=self._clock.now(), attachment=attachment,
                                    automatic=mail.kind == "alert")  # fmt: skip
            reply = await self._sender.send(message, recipients, lambda: self.outbox.mark_sending(mail.reference))
        except TemplateError as exc:
            return await self._failed(mail, f"template error: {exc}", counted=True)
        except MailRefused as exc:
            return await self._failed(mail, str(exc), counted=not await self._reached_data(mail))
        except MailRetry as exc:
            return await self._retry(mail, str(exc))
        except MailUncertain as exc:
            await self.outbox.mark_unknown(mail.reference, f"{exc}: check and resend")
            await self._event(mail, f"mail {mail.reference}: unknown whether it arrived ({exc})", "warning")
            return "unknown"
        await self.outbox.mark_sent(mail.reference, reply)
        self.sent += 1
        await self._event(mail, f"{mail.kind} mail sent to {mail.recipient} ({mail.message_id}): {reply}", "info")
        return "sent"

    async def _reached_data(self, mail: OutboxMail) -> bool:
        """Whether this try got as far as DATA ('sending' was recorded and counted the try)."""
        current = await self.outbox.get(mail.reference)
        return current is not None and current.state == "sending"

    async def _retry(self, mail: OutboxMail, error: str) -> str:
        reached = await self._reached_data(mail)
        attempts = mail.attempts + 1
        if attempts >= self._cfg.max_attempts:
            return await self._failed(mail, f"gave up after {attempts} tries: {error}", counted=not reached)
        delay = backoff(attempts, base=self._cfg.retry_base_seconds, cap=self._cfg.retry_cap_seconds, rand=self._rand())
        await self.outbox.retry(mail.reference, error, self._clock.now() + delay, counted=not reached)
        self.last_error = error
        log.info("mail %s will be retried in %.0f s: %s", mail.reference, delay, error)
        return "queued"

    async def _failed(self, mail: OutboxMail, error: str, *, counted: bool) -> str:
        await self.outbox.fail(mail.reference, error, counted=counted)
        self.last_error = error
        log.error("mail %s failed: %s", mail.reference, error)
        await self._event(mail, f"mail {mail.reference} failed: {error}", "error")
        return "failed"

    async def _event(self, mail: OutboxMail, message: str, level: str) -> None:
        if mail.work_key:
            await self._journal.add_event(mail.work_key, message, level=level, data={"mail": mail.reference})

    # -- the loop -----------------------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="mail-worker")

    async def run(self) -> None:
        while not self._stopping:
            try:
                await self.run_once()
            except Exception as exc:  # one bad round (journal busy, a bug) must not end the loop
                self.last_error, self.last_error_at = f"{type(exc).__name__}: {exc}", self._clock.now()
                log.exception("mail worker round failed")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._cfg.poll_seconds)

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task
