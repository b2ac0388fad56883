"""Invoices through a real SMTP server (aiosmtpd on loopback): what arrives, retries, refusals."""

from __future__ import annotations

import io
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from agent.app import JOURNAL
from agent.clock import ManualClock
from agent.journal.mail import MailJournal
from agent.sandbox.demo import Stack, place_orders

from .conftest import drive, mail_worker  # type: ignore[import-not-found]
from .smtpkit import PASSWORD, USER, mail_settings, smtp_server, throwaway_tls  # type: ignore[import-not-found]

# implicit TLS is set up by the listening socket, which aiosmtpd's AUTH check cannot see
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
MakeStack = Callable[..., AbstractAsyncContextManager[Stack]]


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def parts(message: Any) -> dict[str, Any]:
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    attachments = list(message.iter_attachments())
    return {"text": text.get_content(), "html": html.get_content(), "attachments": attachments}


async def booked(stack: Stack) -> dict[int, dict[str, Any]]:
    """Order id -> its invoice link, for the booked ones."""
    rows = await stack.app[JOURNAL].db.read("SELECT woo_id FROM links WHERE kind = 'order' AND state = 'booked'")
    out = {}
    for row in rows:
        link = (await stack.app[JOURNAL].order_facts(int(row[0]))).invoice
        assert link is not None
        out[int(link.woo_id)] = {"number": link.dyn_number, "amount": link.amount, "data": link.data}
    return out


async def test_invoice_mail_arrives_with_parts_pdf_message_id_and_language(mail_stack: MakeStack,
                                                                           clock: ManualClock) -> None:  # fmt: skip
    async with smtp_server() as server, mail_stack(clock, mail=mail_settings(server.port, bcc=["books@example.dk"])) as stack:
        ids = await place_orders(stack, 5)  # shapes: DK B2C, DK card, DK B2B, DK EAN (not mailed), DE OSS
        await drive(stack, clock)
        invoices = await booked(stack)
        got = server.recorder.received
        mailed = [i for i in ids if i in invoices and invoices[i]["data"]["plan"]["debtor"]["group"] != "EAN"]
        assert len(got) == len(mailed) == 4, [r.message["Subject"] for r in got]
        by_order = {int(r.message["Message-ID"].split("woo-order-")[1].split(".")[0]): r for r in got}
        assert sorted(by_order) == sorted(mailed)
        for order_id, rec in by_order.items():
            inv = invoices[order_id]
            plan = inv["data"]["plan"]
            msg = rec.message
            assert rec.recipients == [plan["debtor"]["email"], "books@example.dk"]  # bcc: envelope only
            assert msg["To"] == plan["debtor"]["email"] and "Bcc" not in msg
            assert msg["From"] == "Kaffe & Co <shop@example.dk>" and msg["Reply-To"] == "hello@example.dk"
            assert msg["Message-ID"].startswith(f"<woo-order-{order_id}.") and msg["Message-ID"].endswith("@example.dk>")
            p = parts(msg)
            danish = plan["debtor"]["country"] == "DK"
            assert msg["Subject"].startswith(f"Faktura {inv['number']} fra Kaffe & Co" if danish
                                             else f"Invoice {inv['number']} from Kaffe & Co")
            assert ("Tak for din ordre" if danish else "Thank you for your order") in p["text"]
            assert "Kaffe &amp; Co" in p["html"] and "<table" in p["html"]  # escaped in HTML only
            [pdf] = p["attachments"]
            assert pdf.get_filename() == f"Faktura-{inv['number']}.pdf" and pdf.get_content_type() == "application/pdf"
            text = pdf_text(pdf.get_content())
            assert f"Faktura {inv['number']}" in text and f"Total: {inv['amount']}" in text
            assert plan["lines"][0]["name"][:20] in text  # the lines are on it too
        outbox = await MailJournal(stack.app[JOURNAL]).counts()
        assert outbox["sent"] == 4 and outbox["skipped"] == 1
        ean = next(i for i in ids if i not in by_order)
        [row] = await MailJournal(stack.app[JOURNAL]).for_work(f"order:{ean}")
        assert row.state == "skipped" and "EAN" in (row.error or "")


@pytest.mark.parametrize(("mode", "exclude", "mechanism"), [
    ("starttls", ("LOGIN",), "PLAIN"),
    ("tls", ("PLAIN",), "LOGIN"),
    ("none", ("PLAIN",), "LOGIN"),
])  # fmt: skip
async def test_tls_and_auth(mail_stack: MakeStack, clock: ManualClock, tmp_path: Path, mode: str,
                            exclude: tuple[str, ...], mechanism: str) -> None:  # fmt: skip
    tls = throwaway_tls(tmp_path)
    settings = mail_settings(0, security=mode, username=USER, password=PASSWORD, ca_file=str(tls.ca_file))
    async with smtp_server(mode=mode, tls=tls, auth=True, exclude=exclude) as server:
        settings["port"] = server.port
        async with mail_stack(clock, mail=settings) as stack:
            await place_orders(stack, 1)
            await drive(stack, clock)
            [rec] = server.recorder.received
            assert rec.authenticated and rec.mechanism == mechanism
            assert rec.tls == (mode != "none")


async def test_4xx_and_lost_connection_retry_with_backoff(mail_stack: MakeStack, clock: ManualClock) -> None:
    async with smtp_server() as server, mail_stack(clock, mail=mail_settings(server.port)) as stack:
        server.recorder.rcpt_answers = ["451 4.7.1 greylisted, try again later"]
        server.recorder.data_answers = ["452 4.3.1 insufficient system storage"]
        await place_orders(stack, 1)
        await drive(stack, clock)
        outbox = MailJournal(stack.app[JOURNAL])
        [mail] = await outbox.recent()
        assert (mail.state, mail.attempts, mail.error) == ("queued", 1, "recipient refused: 451 4.7.1 greylisted, try again later")
        assert mail.due_at > clock.now()
        assert await mail_worker(stack).run_once() == 0  # not before its time
        clock.advance(mail.due_at - clock.now())
        await mail_worker(stack).run_once()  # RCPT ok, DATA answered 452: nothing delivered, try again
        [mail] = await outbox.recent()
        assert (mail.state, mail.attempts, mail.error) == ("queued", 2, "452 4.3.1 insufficient system storage")
        clock.advance(mail.due_at - clock.now())
        await mail_worker(stack).run_once()
        [mail] = await outbox.recent()
        assert mail.state == "sent" and len(server.recorder.received) == 1


async def test_connection_refused_is_a_retry(mail_stack: MakeStack, clock: ManualClock) -> None:
    async with smtp_server() as server:
        port = server.port  # and then the server is gone
    async with mail_stack(clock, mail=mail_settings(port)) as stack:
        await place_orders(stack, 1)
        await drive(stack, clock)
        queued = [m for m in await MailJournal(stack.app[JOURNAL]).recent() if m.state == "queued"]
        assert queued and "Connect" in (queued[0].error or "")


async def test_5xx_fails_the_mail_with_the_servers_text_and_the_invoice_stays_done(mail_stack: MakeStack,
                                                                                   clock: ManualClock) -> None:  # fmt: skip
    async with smtp_server() as server, mail_stack(clock, mail=mail_settings(server.port)) as stack:
        server.recorder.rcpt_answers = ["550 5.1.1 <customer0@example.dk>: Recipient address rejected: User unknown"]
        [order_id] = await place_orders(stack, 1)
        await drive(stack, clock)
        clock.advance(3600)
        await mail_worker(stack).run_once()
        [mail] = await MailJournal(stack.app[JOURNAL]).recent()
        assert mail.state == "failed"
        assert mail.error == "recipient refused: 550 5.1.1 <customer0@example.dk>: Recipient address rejected: User unknown"
        assert server.recorder.received == []
        item = await stack.app[JOURNAL].get_work(f"order:{order_id}")
        assert item is not None and item.state == "done"
        assert (await booked(stack))[order_id]["number"]


async def test_credit_note_mail_when_configured(mail_stack: MakeStack, clock: ManualClock) -> None:
    from agent.sandbox.demo import refund_some

    async with smtp_server() as server, mail_stack(clock, mail=mail_settings(server.port, send_creditnotes=True)) as stack:
        ids = await place_orders(stack, 2)
        await drive(stack, clock)
        await refund_some(stack, ids, {1: "amount"})
        await drive(stack, clock)
        [refund_id] = stack.refunds
        note = await stack.app[JOURNAL].get_link("refund", refund_id)
        assert note is not None and note.state == "booked"
        [rec] = [r for r in server.recorder.received if "woo-refund" in r.message["Message-ID"]]
        msg = rec.message
        assert msg["Subject"].startswith(f"Kreditnota {note.dyn_number} fra Kaffe & Co")
        [pdf] = parts(msg)["attachments"]
        assert pdf.get_filename() == f"Kreditnota-{note.dyn_number}.pdf"
        assert f"Kreditnota {note.dyn_number}" in pdf_text(pdf.get_content())
        rows = await MailJournal(stack.app[JOURNAL]).for_work(f"order:{ids[1]}")
        assert [r.reference for r in rows] == [f"woo/order-{ids[1]}", f"woo/refund-{refund_id}"]
