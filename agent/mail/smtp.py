"""One mail over the shop's SMTP server with aiosmtplib, step by step, so the outbox can record
"sending" after the server accepted the envelope and before DATA: the only moment after which a
lost answer leaves it unknown whether the mail arrived.

Outcomes: the server's answer to DATA (sent), :class:`MailRetry` (4xx, connection trouble before
DATA: nothing was delivered, try later), :class:`MailRefused` (5xx: not delivered, don't try again)
and :class:`MailUncertain` (the connection broke after DATA began: maybe delivered).
"""

from __future__ import annotations

import ssl
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage

import aiosmtplib

from agent.config_mail import MailConfig


class MailRetry(Exception):
    """Not delivered, worth another try later (4xx answer, connection refused/lost before DATA)."""


class MailRefused(Exception):
    """Not delivered and refused for good (5xx); the message is the server's own text."""


class MailUncertain(Exception):
    """The connection broke after DATA began: the server may or may not have taken the mail."""


@dataclass
class Transcript:
    """The server's answers, for ``mail test`` (never the password: AUTH is shown as a step only)."""

    lines: list[str] = field(default_factory=list)

    def add(self, step: str, response: aiosmtplib.SMTPResponse | None = None) -> None:
        self.lines.append(f"{step}: {response.code} {response.message}" if response is not None else step)


def tls_context(cfg: MailConfig) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(cfg.ca_file) if cfg.ca_file else None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def _answer(exc: aiosmtplib.SMTPResponseException) -> str:
    return f"{exc.code} {exc.message}".strip()


def _classify(exc: BaseException) -> Exception:
    """Before DATA nothing can have been delivered: 5xx is final, everything else is worth a retry."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        answers = [_answer(e) for e in exc.recipients]
        final = all(e.code >= 500 for e in exc.recipients)
        return (MailRefused if final else MailRetry)("recipient refused: " + "; ".join(answers))
    if isinstance(exc, aiosmtplib.SMTPResponseException) and not isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return (MailRefused if exc.code >= 500 else MailRetry)(_answer(exc))
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        # Wrong credentials are the owner's to fix, not this mail's fault: retried with backoff.
        return MailRetry(f"login refused: {_answer(exc)}")
    return MailRetry(f"{type(exc).__name__}: {exc}")


class SmtpSender:
    def __init__(self, cfg: MailConfig, *, context: ssl.SSLContext | None = None) -> None:
        self._cfg = cfg
        self._context = context

    def _client(self) -> aiosmtplib.SMTP:
        cfg = self._cfg
        return aiosmtplib.SMTP(
            hostname=cfg.host, port=cfg.port, timeout=cfg.timeout_seconds, use_tls=cfg.security == "tls",
            start_tls=cfg.security == "starttls", tls_context=self._context or tls_context(cfg),
        )  # fmt: skip

    async def _envelope(self, smtp: aiosmtplib.SMTP, sender: str, recipients: Sequence[str], log: Transcript) -> None:
        log.add("connect", await smtp.connect())
        if self._cfg.username:
            log.add("AUTH", await smtp.login(self._cfg.username, self._cfg.password.get_secret_value()))
        log.add("MAIL FROM", await smtp.mail(sender))
        refused = []
        for rcpt in recipients:
            try:
                log.add(f"RCPT TO {rcpt}", await smtp.rcpt(rcpt))
            except aiosmtplib.SMTPRecipientRefused as exc:
                refused.append(exc)
        if refused:
            raise aiosmtplib.SMTPRecipientsRefused(refused)

    async def send(self, message: EmailMessage, recipients: Sequence[str],
                   before_data: Callable[[], Awaitable[None]], log: Transcript | None = None) -> str:  # fmt: skip
        """Deliver ``message``; ``before_data`` is awaited after RCPT and before DATA. Returns the
        server's answer to DATA."""
        log = log if log is not None else Transcript()
        smtp = self._client()
        try:
            try:
                await self._envelope(smtp, self._cfg.from_address, recipients, log)
            except Exception as exc:
                raise _classify(exc) from exc
            await before_data()
            try:
                answer = await smtp.data(message.as_bytes())
            except aiosmtplib.SMTPResponseException as exc:  # a definite answer: not delivered
                raise (MailRefused if exc.code >= 500 else MailRetry)(_answer(exc)) from exc
            except Exception as exc:
                raise MailUncertain(f"connection lost during DATA: {type(exc).__name__}: {exc}") from exc
            log.add("DATA", answer)
            return f"{answer.code} {answer.message}"
        finally:
            await _quit(smtp, log)


async def _quit(smtp: aiosmtplib.SMTP, log: Transcript) -> None:
    if not smtp.is_connected:
        return
    try:
        log.add("QUIT", await smtp.quit())
    except (aiosmtplib.SMTPException, OSError):
        smtp.close()  # the mail's fate is already decided; a rude goodbye changes nothing
