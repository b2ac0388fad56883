"""An SMTP catcher for the demo: a real aiosmtpd server on loopback that keeps every mail it is
given, and a small page listing them (subject, recipients, Message-ID, attachments, text part)."""

from __future__ import annotations

import contextlib
import html
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiohttp import web
from aiosmtpd.smtp import SMTP  # a test/demo dependency: imported only by the demo

from agent.sandbox.ports import free_port


@dataclass
class Caught:
    recipients: list[str]
    message: EmailMessage


@dataclass
class Catcher:
    mails: list[Caught] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.mails.append(Caught(list(envelope.rcpt_tos), message))
        return f"250 2.0.0 Ok: caught as #{len(self.mails)}"

    def message_ids(self) -> list[str]:
        return [str(c.message["Message-ID"]) for c in self.mails]


def _row(n: int, caught: Caught) -> str:
    msg = caught.message
    files = ", ".join(a.get_filename() or "?" for a in msg.iter_attachments())
    cells = [str(n), html.escape(str(msg["Subject"])), html.escape(", ".join(caught.recipients)),
             f"<code>{html.escape(str(msg['Message-ID']))}</code>", html.escape(files), f"<a href='/mail/{n}'>text</a>"]
    return "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


def page(catcher: Catcher) -> str:
    rows = "".join(_row(n, c) for n, c in enumerate(catcher.mails, start=1))
    return ("<!doctype html><meta charset='utf-8'><title>Caught mail</title>"
            f"<h1>Mail caught by the demo's SMTP server: {len(catcher.mails)}</h1>"
            "<table border='1' cellpadding='4'><tr><th>#</th><th>Subject</th><th>To</th><th>Message-ID</th>"
            f"<th>Attachments</th><th></th></tr>{rows}</table>")  # fmt: skip


@dataclass
class CatcherHandle:
    catcher: Catcher
    smtp_port: int
    page_url: str


@contextlib.asynccontextmanager
async def running_catcher() -> AsyncIterator[CatcherHandle]:
    import asyncio

    catcher = Catcher()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(catcher, hostname="demo-catcher"), "127.0.0.1", 0)
    app = web.Application()

    async def index(request: web.Request) -> web.Response:
        return web.Response(text=page(catcher), content_type="text/html")

    async def one(request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        if not 1 <= n <= len(catcher.mails):
            raise web.HTTPNotFound()
        body = catcher.mails[n - 1].message.get_body(preferencelist=("plain",))
        return web.Response(text=body.get_content() if body is not None else "", content_type="text/plain")

    app.router.add_get("/", index)
    app.router.add_get(r"/mail/{n:\d+}", one)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield CatcherHandle(catcher, server.sockets[0].getsockname()[1], f"http://127.0.0.1:{port}/")
    finally:
        await runner.cleanup()
        server.close()
