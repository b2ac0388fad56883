"""A real aiosmtpd server on loopback, on the test's own event loop, that records what arrives.

Answers can be forced per step (``rcpt_answers``, ``data_answers``: popped in order) and a hook
can run while DATA is being received (``on_data``), e.g. to kill the agent at that moment.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import trustme
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

USER, PASSWORD = "shop@example.dk", "s3cret-smtp-password"


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage
    tls: bool
    authenticated: bool
    mechanism: str | None


@dataclass
class Recorder:
    received: list[Received] = field(default_factory=list)
    rcpt_answers: list[str] = field(default_factory=list)
    data_answers: list[str] = field(default_factory=list)
    on_data: Callable[[], Awaitable[None]] | None = None
    mechanisms: list[str] = field(default_factory=list)

    async def handle_RCPT(self, server: SMTP, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        if self.rcpt_answers:
            answer = self.rcpt_answers.pop(0)
            if not answer.startswith("250"):
                return answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Any, envelope: Any) -> str:
        if self.data_answers:
            answer = self.data_answers.pop(0)
            if not answer.startswith("250"):
                return answer
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message,
                                      server.transport.get_extra_info("ssl_object") is not None,
                                      bool(session.authenticated),
                                      self.mechanisms[-1] if self.mechanisms else None))  # fmt: skip
        if self.on_data is not None:
            await self.on_data()
        return f"250 2.0.0 Ok: queued as Q{len(self.received)}"

    def messages(self) -> list[EmailMessage]:
        return [r.message for r in self.received]


def authenticator(recorder: Recorder) -> Callable[..., AuthResult]:
    def check(server: SMTP, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        recorder.mechanisms.append(mechanism)
        ok = isinstance(data, LoginPassword) and data.login.decode() == USER and data.password.decode() == PASSWORD
        return AuthResult(success=ok, handled=False)

    return check


@dataclass
class Tls:
    server: ssl.SSLContext
    ca_file: Path


def throwaway_tls(directory: Path) -> Tls:
    """A throw-away CA and a certificate for 127.0.0.1; the client trusts it through ``ca_file``."""
    ca = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server)
    path = directory / "test-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return Tls(server, path)


@dataclass
class Server:
    recorder: Recorder
    port: int


@contextlib.asynccontextmanager
async def smtp_server(*, mode: str = "none", tls: Tls | None = None, auth: bool = False,
                      exclude: tuple[str, ...] = ()) -> AsyncIterator[Server]:  # fmt: skip
    """``mode``: none (plain), starttls (required before AUTH/MAIL) or tls (TLS from the first byte)."""
    recorder = Recorder()
    loop = asyncio.get_running_loop()

    def factory() -> SMTP:
        return SMTP(
            recorder, hostname="mail.test", tls_context=tls.server if tls and mode == "starttls" else None,
            require_starttls=mode == "starttls", authenticator=authenticator(recorder) if auth else None,
            auth_required=auth, auth_require_tls=mode == "starttls", auth_exclude_mechanism=list(exclude),
        )  # fmt: skip

    server = await loop.create_server(factory, "127.0.0.1", 0, ssl=tls.server if tls and mode == "tls" else None)
    port = server.sockets[0].getsockname()[1]
    try:
        yield Server(recorder, port)
    finally:
        server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 5)


def mail_settings(port: int, **extra: Any) -> dict[str, Any]:
    """The ``[mail]`` table for a server on loopback."""
    return {"host": "127.0.0.1", "port": port, "security": "none", "from_address": "shop@example.dk",
            "from_name": "Kaffe & Co", "reply_to": "hello@example.dk", "shop_name": "Kaffe & Co",
            "retry_base_seconds": 10.0, "retry_cap_seconds": 60.0, **extra}  # fmt: skip
