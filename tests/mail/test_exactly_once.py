"""One document, one mail: across replays and re-imports, and a crash between DATA and the record."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from agent.app import JOURNAL
from agent.clock import ManualClock
from agent.journal.mail import MailJournal
from agent.mail.worker import MailWorker
from agent.sandbox.demo import Stack, place_orders

from .conftest import drive, mail_worker  # type: ignore[import-not-found]
from .smtpkit import mail_settings, smtp_server  # type: ignore[import-not-found]

MakeStack = Callable[..., AbstractAsyncContextManager[Stack]]


async def test_replay_and_reimport_send_no_second_mail(mail_stack: MakeStack, clock: ManualClock) -> None:
    async with smtp_server() as server, mail_stack(clock, mail=mail_settings(server.port)) as stack:
        [order_id] = await place_orders(stack, 1)
        await drive(stack, clock)
        assert len(server.recorder.received) == 1
        journal = stack.app[JOURNAL]
        for _ in range(2):  # the replay button, then the sweep/import hinting the same order again
            await journal.requeue(f"order:{order_id}")
            await drive(stack, clock)
            await journal.hint_work(f"order:{order_id}")
            await drive(stack, clock)
        assert len(server.recorder.received) == 1
        [row] = await MailJournal(journal).for_work(f"order:{order_id}")
        assert row.state == "sent" and row.attempts == 1


async def test_crash_between_data_and_record_is_unknown_and_never_resent(mail_stack: MakeStack,
                                                                         clock: ManualClock) -> None:  # fmt: skip
    async with smtp_server() as server, mail_stack(clock, mail=mail_settings(server.port)) as stack:
        [order_id] = await place_orders(stack, 1)
        await drive(stack, clock)  # sends it: but first, start again with a crash in the middle
        outbox = MailJournal(stack.app[JOURNAL])
        [row] = await outbox.for_work(f"order:{order_id}")
        assert await outbox.resend(row.reference)
        worker = mail_worker(stack)
        sending = asyncio.create_task(worker.run_once())

        async def die() -> None:  # the agent's process ends while the server holds the mail's data
            sending.cancel()

        server.recorder.on_data = die
        await asyncio.gather(sending, return_exceptions=True)
        assert sending.cancelled()
        server.recorder.on_data = None
        assert len(server.recorder.received) == 2  # it did arrive (a second time, by the resend)
        assert (await outbox.get(row.reference)).state == "sending"  # type: ignore[union-attr]

        # the next start: a fresh worker over the same journal
        successor = MailWorker(stack.app[JOURNAL], stack.config.mail, clock, worker._sender, worker._env, None)
        assert await successor.recover() == [row.reference]
        clock.advance(86_400)
        assert await successor.run_once() == 0
        after = await outbox.get(row.reference)
        assert after is not None and after.state == "unknown" and "check and resend" in (after.error or "")
        assert len(server.recorder.received) == 2
        events = [e.message for e in await stack.app[JOURNAL].list_events(f"order:{order_id}")]
        assert any("unknown whether it arrived" in m for m in events)
        # only a human's resend sends it again, with the same Message-ID
        assert await outbox.resend(row.reference)
        await successor.run_once()
        ids = {r.message["Message-ID"] for r in server.recorder.received}
        assert len(server.recorder.received) == 3 and ids == {row.message_id}


async def test_connection_lost_during_data_is_unknown(mail_stack: MakeStack, clock: ManualClock) -> None:
    async with smtp_server() as server, mail_stack(clock, mail=mail_settings(server.port)) as stack:

        async def hang_up() -> None:  # the server took the data and the line dropped before its answer
            raise ConnectionResetError("line dropped")

        server.recorder.on_data = hang_up
        [order_id] = await place_orders(stack, 1)
        await drive(stack, clock)
        clock.advance(86_400)
        await mail_worker(stack).run_once()
        [row] = await MailJournal(stack.app[JOURNAL]).for_work(f"order:{order_id}")
        assert row.state == "unknown" and row.attempts == 1, row.error
        assert "connection lost during DATA" in (row.error or ""), row.error
        assert len(server.recorder.received) == 1
