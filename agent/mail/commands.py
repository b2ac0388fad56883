"""``dynaccount-agent mail test --to ADDR`` and ``mail preview ORDER_ID``, and the mail part of ``check``."""

from __future__ import annotations

import argparse
import time

from agent.address import valid_address
from agent.config import Config
from agent.ids import order_id_arg
from agent.journal import Journal
from agent.mail.render import Rendered, build_message, environment, message_id
from agent.mail.smtp import MailRefused, MailRetry, MailUncertain, SmtpSender, Transcript
from agent.mail.templates import check_templates


def problems(config: Config) -> list[str]:
    """What ``check`` reports about mail: template errors (each file and line) and missing settings."""
    found = []
    if config.alerts.to and not config.mail.enabled:
        found.append("alerts.to is set but [mail] host is empty: alerts are sent through [mail]")
    if config.mail.enabled or config.mail.templates_dir is not None:
        if config.mail.templates_dir is not None and not config.mail.templates_dir.is_dir():
            found.append(f"mail.templates_dir: {config.mail.templates_dir} is not a folder")
        found += [f"mail template {p}" for p in check_templates(environment(config.mail), config.mail)]
    return found


async def send_test(config: Config, to: str) -> tuple[bool, list[str]]:
    """Send one test message now (not through the outbox); the server's answers, never the password."""
    cfg = config.mail
    if not cfg.enabled:
        return False, ["[mail] host is empty: nothing to test"]
    if not valid_address(to):
        return False, [f"{to!r} is not an e-mail address"]
    now = time.time()
    text = (f"This is a test message from dynaccount-agent, sent through {cfg.host}:{cfg.port} "
            f"({cfg.security}). Invoices will come from {cfg.from_address}.\n")  # fmt: skip
    message = build_message(cfg, Rendered("dynaccount-agent: test message", text, None), to=[to],
                            message_id=message_id(f"test-{int(now)}", cfg.from_address), now=now)  # fmt: skip
    log = Transcript()
    log.add(f"server {cfg.host}:{cfg.port}, security {cfg.security}, user {cfg.username or '(no AUTH)'}")

    async def nothing() -> None:
        return None

    try:
        await SmtpSender(cfg).send(message, [to], nothing, log)
    except (MailRetry, MailRefused, MailUncertain) as exc:
        log.add(f"FAILED ({type(exc).__name__}): {exc}")
        return False, log.lines
    log.add(f"OK: test message sent to {to}")
    return True, log.lines


async def preview_order(config: Config, order_id: int) -> str:
    from agent.mail.preview import preview

    journal = await Journal.open(config.journal.path, synchronous=config.journal.synchronous)
    try:
        rendered = await preview(journal, config.mail, environment(config.mail), order_id)
    finally:
        await journal.close()
    return f"Subject: {rendered.subject}\n\n{rendered.text}"


def add_parser(sub: argparse._SubParsersAction, handler: object) -> None:  # type: ignore[type-arg]
    mail = sub.add_parser("mail", help="test the SMTP settings or preview an invoice mail",
                          description="test the SMTP settings or preview an invoice mail")  # fmt: skip
    verbs = mail.add_subparsers(dest="verb", required=True)
    test = verbs.add_parser("test", help="send a test message and print the server's answers")
    test.add_argument("--to", required=True, help="recipient of the test message")
    show = verbs.add_parser("preview", help="print the rendered text mail of an order's invoice (sends nothing)")
    show.add_argument("order_id", type=order_id_arg)
    for verb in (test, show):
        verb.add_argument("--config", help="config file (default: $DYNACCOUNT_AGENT_CONFIG, then ./config.toml)")
    mail.set_defaults(handler=handler)
