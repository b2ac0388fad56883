"""Pure parts of the mail room, by table: who is mailed, addresses, money, Message-IDs, templates on disk."""

from __future__ import annotations

import filecmp
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from agent.address import valid_address
from agent.config_mail import MailConfig
from agent.mail.render import environment, message_id, money
from agent.mail.rules import skip_reason
from agent.mail.templates import check_templates

ROOT = Path(__file__).resolve().parents[2]
CFG = MailConfig(host="smtp.example.dk", from_address="shop@example.dk", skip_payment_methods=["cod"])


@pytest.mark.parametrize(("debtor", "method", "reason"), [
    ({"email": "a@example.dk", "group": "B2C"}, "stripe", None),
    ({"email": "a@example.dk", "group": "EAN"}, "bacs", "debtor group EAN"),
    ({"email": "a@example.dk", "group": "B2B"}, "cod", "payment method cod"),
    ({"email": "", "group": "B2C"}, "stripe", "no e-mail address"),
    ({"email": "  ", "group": "B2C"}, "stripe", "no e-mail address"),
    ({"email": "a@example", "group": "B2C"}, "stripe", "not a valid e-mail address"),
    ({"email": "a@example.dk\r\nBcc: x@evil.example", "group": "B2C"}, "stripe", "not a valid e-mail address"),
])  # fmt: skip
def test_who_is_mailed(debtor: dict[str, Any], method: str, reason: str | None) -> None:
    got = skip_reason(CFG, debtor, method)
    assert (got is None) if reason is None else (got is not None and reason in got)


@pytest.mark.parametrize(("address", "ok"), [
    ("jens@example.dk", True), ("j.o+shop@sub.example.co.uk", True), ("jens@localhost", False),
    ("jens example.dk", False), ("<jens@example.dk>", False), ("jens@@example.dk", False), ("a..b@example.dk", False),
])  # fmt: skip
def test_addresses(address: str, ok: bool) -> None:
    assert valid_address(address) is ok


@pytest.mark.parametrize(("value", "language", "shown"), [
    ("1234.5", "da", "1.234,50"), ("1234.5", "en", "1,234.50"), ("-0.1", "da", "-0,10"), ("1000000", "da", "1.000.000,00"),
])  # fmt: skip
def test_money(value: str, language: str, shown: str) -> None:
    assert money(value, language) == shown


def test_message_id_is_deterministic_per_reference() -> None:
    one = message_id("woo/order-17", "shop@example.dk")
    assert one == message_id("woo/order-17", "shop@example.dk") != message_id("woo/order-18", "shop@example.dk")
    assert one.startswith("<woo-order-17.") and one.endswith("@example.dk>")


def test_shipped_templates_render_and_the_package_ships_the_top_level_folder() -> None:
    assert check_templates(environment(CFG)) == []
    packaged = Path(str(resources.files("agent").joinpath("templates/email")))
    top = ROOT / "templates" / "email"
    for language in ("da", "en"):
        names = sorted(p.name for p in (top / language).iterdir())
        assert names == ["alert.txt", "creditnote.html", "creditnote.txt", "invoice.html", "invoice.txt"]
        _, mismatch, errors = filecmp.cmpfiles(top / language, packaged / language, names, shallow=False)
        assert (mismatch, errors) == ([], [])


def test_config_refuses_a_password_in_clear_text_and_a_host_without_sender() -> None:
    with pytest.raises(ValueError, match="clear text"):
        MailConfig(host="smtp.example.dk", from_address="a@example.dk", security="none", username="u")
    with pytest.raises(ValueError, match="from_address is required"):
        MailConfig(host="smtp.example.dk")
    assert "s3cret-pw" not in repr(MailConfig(host="127.0.0.1", from_address="a@example.dk", password="s3cret-pw"))
