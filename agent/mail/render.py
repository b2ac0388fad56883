"""Templates → an RFC 5322 message. Jinja2 with StrictUndefined (a misspelt variable is an error,
never an empty string in a customer's mail) and autoescape for ``.html`` only.

Templates live in ``templates/email/<language>/`` (``invoice``, ``creditnote``, ``alert``; ``.txt``,
and ``.html`` for customer mails). The first line of a ``.txt`` template is ``Subject: …``. A shop's
``[mail] templates_dir`` with the same layout wins file by file over the shipped ones.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from email.message import EmailMessage
from email.utils import formataddr, formatdate
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.address import domain_of
from agent.config_mail import MailConfig

if TYPE_CHECKING:
    import jinja2

LANGUAGES = ("da", "en")
CUSTOMER_KINDS = ("invoice", "creditnote")
SHIPPED = Path(str(resources.files("agent").joinpath("templates/email")))


class TemplateError(Exception):
    """A template that cannot be loaded or rendered; the message names the file and line."""


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str | None


def money(value: object, language: str) -> str:
    """1234.5 → ``1.234,50`` (da) or ``1,234.50`` (en)."""
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    text = f"{amount:,.2f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".") if language == "da" else text


def date(value: object, language: str) -> str:
    if not value:
        return ""
    parsed = datetime.strptime(str(value)[:10], "%Y-%m-%d")
    return parsed.strftime("%d.%m.%Y") if language == "da" else parsed.strftime("%d %b %Y")


def _language(ctx: Any) -> str:
    return str(ctx.get("language") or "en")


def environment(cfg: MailConfig) -> jinja2.Environment:
    import jinja2  # here, not at the top: a daemon that renders no mail never loads Jinja (issue 17: idle RSS)

    loaders: list[jinja2.BaseLoader] = []
    if cfg.templates_dir is not None:
        loaders.append(jinja2.FileSystemLoader(str(cfg.templates_dir)))
    loaders.append(jinja2.FileSystemLoader(str(SHIPPED)))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders), undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=False),
        keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True,
    )  # fmt: skip
    env.filters["money"] = jinja2.pass_context(lambda ctx, v: money(v, _language(ctx)))
    env.filters["date"] = jinja2.pass_context(lambda ctx, v: date(v, _language(ctx)))
    return env


def render_file(env: jinja2.Environment, name: str, context: dict[str, Any]) -> str:
    import jinja2  # loaded already: ``env`` is one

    try:
        return env.get_template(name).render(**context)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"{exc.name or name}, line {exc.lineno}: {exc.message}") from None
    except jinja2.TemplateNotFound:
        raise TemplateError(f"{name}: template not found") from None
    except (jinja2.UndefinedError, TypeError, ValueError, KeyError) as exc:
        raise TemplateError(f"{name}: {exc}") from None


def render(env: jinja2.Environment, kind: str, language: str, context: dict[str, Any]) -> Rendered:
    raw = render_file(env, f"{language}/{kind}.txt", context)
    first, _, body = raw.partition("\n")
    if not first.startswith("Subject:"):
        raise TemplateError(f"{language}/{kind}.txt: the first line must be 'Subject: …'")
    subject = " ".join(first.removeprefix("Subject:").split())  # one line: no header injection
    html = render_file(env, f"{language}/{kind}.html", context) if kind in CUSTOMER_KINDS else None
    return Rendered(subject, body.lstrip("\n"), html)


def message_id(reference: str, from_address: str) -> str:
    """Deterministic: the same document always carries the same Message-ID, so a resend (or a
    server's duplicate) is recognisable as the same mail by the customer's mail program."""
    tag = hashlib.sha256(reference.encode()).hexdigest()[:12]
    safe = "".join(c if c.isalnum() or c in "-._" else "-" for c in reference)
    return f"<{safe}.{tag}@{domain_of(from_address)}>"


def build_message(cfg: MailConfig, rendered: Rendered, *, to: list[str], message_id: str, now: float,
                  attachment: tuple[str, bytes] | None = None, automatic: bool = False) -> EmailMessage:  # fmt: skip
    msg = EmailMessage()
    msg["From"] = formataddr((cfg.from_name, cfg.from_address)) if cfg.from_name else cfg.from_address
    msg["To"] = ", ".join(to)
    if cfg.reply_to:
        msg["Reply-To"] = cfg.reply_to
    msg["Subject"] = rendered.subject
    msg["Date"] = formatdate(now, usegmt=True)
    msg["Message-ID"] = message_id
    if automatic:
        msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to the agent's alerts
    msg.set_content(rendered.text)
    if rendered.html is not None:
        msg.add_alternative(rendered.html, subtype="html")
    if attachment is not None:
        name, data = attachment
        msg.add_attachment(data, maintype="application", subtype="pdf", filename=name)
    return msg


def pdf_name(kind: str, number: int | str | None) -> str:
    return f"{'Faktura' if kind == 'invoice' else 'Kreditnota'}-{number}.pdf"


def now_iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")
