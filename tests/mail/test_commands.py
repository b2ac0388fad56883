"""``mail test``, ``mail preview`` and ``check``: real subprocesses, a real SMTP server."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest

from agent.clock import ManualClock
from agent.sandbox.demo import Stack, place_orders

from .conftest import drive  # type: ignore[import-not-found]
from .smtpkit import PASSWORD, USER, mail_settings, smtp_server, throwaway_tls  # type: ignore[import-not-found]

ROOT = Path(__file__).resolve().parents[2]
MakeStack = Callable[..., AbstractAsyncContextManager[Stack]]


def toml(tables: dict[str, dict[str, Any]]) -> str:
    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return repr(v)
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'

    return "\n".join(f"[{t}]\n" + "\n".join(f"{k} = {value(v)}" for k, v in vals.items()) + "\n"
                     for t, vals in tables.items())  # fmt: skip


def config_file(tmp_path: Path, mail: dict[str, Any], journal: Path | None = None) -> Path:
    tables = {
        "journal": {"path": str(journal or tmp_path / "j.sqlite3")},
        "woocommerce": {"url": "http://127.0.0.1:9", "consumer_key": "ck_x", "consumer_secret": "cs_x",
                        "webhook_secret": "a-webhook-secret"},
        "dynaccount": {"api_id": 1, "api_key": "k" * 40, "api_secret": "s" * 40, "base_url": "http://127.0.0.1:9"},
        "mail": mail,
    }  # fmt: skip
    path = tmp_path / "agent.toml"
    path.write_text(toml(tables), encoding="utf-8")
    return path


async def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "agent", *args, cwd=ROOT,
                                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    out, err = await proc.communicate()
    return subprocess.CompletedProcess(args, proc.returncode or 0, out.decode(), err.decode())


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_mail_test_prints_the_servers_answers_and_never_the_password(tmp_path: Path) -> None:
    tls = throwaway_tls(tmp_path)
    async with smtp_server(mode="starttls", tls=tls, auth=True) as server:
        path = config_file(tmp_path, mail_settings(server.port, security="starttls", username=USER,
                                                   password=PASSWORD, ca_file=str(tls.ca_file)))  # fmt: skip
        done = await run_cli("mail", "test", "--to", "me@example.dk", "--config", str(path))
        assert done.returncode == 0, done.stderr
        assert "AUTH: 235" in done.stdout and "DATA: 250" in done.stdout and "MAIL FROM: 250" in done.stdout
        assert PASSWORD not in done.stdout + done.stderr
        [rec] = server.recorder.received
        assert rec.recipients == ["me@example.dk"] and rec.tls and rec.authenticated
        server.recorder.rcpt_answers = ["550 5.1.1 no such mailbox"]
        done = await run_cli("mail", "test", "--to", "nobody@example.dk", "--config", str(path))
        assert done.returncode == 3 and "550 5.1.1 no such mailbox" in done.stdout


async def test_mail_preview_prints_the_rendered_invoice_mail(mail_stack: MakeStack, clock: ManualClock,
                                                             tmp_path: Path) -> None:  # fmt: skip
    async with smtp_server() as server, mail_stack(clock, mail=mail_settings(server.port)) as stack:
        [order_id] = await place_orders(stack, 1)
        await drive(stack, clock)
        path = config_file(tmp_path, mail_settings(server.port), journal=stack.config.journal.path)
        done = await run_cli("mail", "preview", str(order_id), "--config", str(path))
        assert done.returncode == 0, done.stderr
        sent = server.recorder.received[0].message
        body = sent.get_body(("plain",)).get_content().replace("\r\n", "\n")
        assert done.stdout == f"Subject: {sent['Subject']}\n\n{body}\n"
        missing = await run_cli("mail", "preview", "999999", "--config", str(path))
        assert missing.returncode == 1 and "no invoice" in missing.stderr


async def test_check_reports_template_errors_by_file_and_line(tmp_path: Path) -> None:
    own = tmp_path / "mytemplates" / "da"
    own.mkdir(parents=True)
    (own / "invoice.txt").write_text("Subject: Faktura {{ invoice.nummer }}\n\nHej {{ customer.name }}\n")
    (own / "invoice.html").write_text("<p>{% if x %}</p>\n")
    path = config_file(tmp_path, mail_settings(2525, templates_dir=str(tmp_path / "mytemplates")))
    done = await run_cli("check", "--config", str(path))
    assert done.returncode == 2
    assert "da/invoice.txt: 'dict object' has no attribute 'nummer'" in done.stderr
    assert "da/invoice.html, line 1: Unexpected end of template" in done.stderr
    (own / "invoice.txt").unlink()
    (own / "invoice.html").write_text("<p>{{ invoice.number }}</p>\n")
    done = await run_cli("check", "--config", str(path))
    assert done.returncode == 0, done.stderr
