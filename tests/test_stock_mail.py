"""The stock room and the mail room both hear of a booking: the applier's one on_booked hook is chained."""

from __future__ import annotations

from pathlib import Path

from agent.app import JOURNAL
from agent.clock import ManualClock
from agent.sandbox.demo import demo_stack, place_orders
from agent.web.stock import STOCK

from .e2e.conftest import drive  # type: ignore[import-not-found]
from .mail.smtpkit import mail_settings, smtp_server  # type: ignore[import-not-found]


async def test_a_booking_queues_the_invoice_mail_and_a_stock_run(tmp_path: Path) -> None:
    clock = ManualClock()
    async with smtp_server() as server, demo_stack(tmp_path / "stack", delivery_delay=0.0, clock=clock,
                                                   autostart=False,
                                                   overrides={"mail": mail_settings(server.port)}) as s:
        room = s.app[STOCK]
        room.next_run = clock.now() + 10_000
        [order_id] = await place_orders(s, 1)
        await drive(s, clock)
        assert room.next_reason == "after booking"  # the stock room heard of the booking
        queued = await s.app[JOURNAL].db.read("SELECT reference FROM mail_outbox")
        assert [r[0] for r in queued] == [f"woo/order-{order_id}"]  # and so did the mail room
