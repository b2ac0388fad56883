"""A file order booked as a draft whose credit waits for the booking (refunds.draft_policy =
wait_until_booked): the drafts watch finds the file order's draft too, and the credit note follows."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from agent.clock import ManualClock
from agent.files.commands import import_path
from agent.sandbox.demo import demo_stack

from ..e2e.conftest import drive  # type: ignore[import-not-found]
from .conftest import CONTRIB, creditnotes, files_table, invoice  # type: ignore[import-not-found]


async def test_credit_of_a_draft_file_invoice_waits_for_the_booking(tmp_path: Path) -> None:
    clock = ManualClock()
    overrides = {"files": files_table(), "invoice": {"mode": "draft"},
                 "refunds": {"draft_policy": "wait_until_booked"}}  # fmt: skip
    async with demo_stack(tmp_path / "s", delivery_delay=0.0, clock=clock, autostart=False,
                          overrides=overrides) as s:  # fmt: skip
        assert s.services.files is not None
        await import_path(s.services.files, s.services.journal, s.services.worker.run_once, CONTRIB / "orders.csv",
                          None, dry_run=False, daemon_running=True, progress=lambda _: None)  # fmt: skip
        await drive(s, clock)
        item = await s.services.journal.get_work("file:pos:1004")
        assert item is not None and item.state == "waiting", item
        draft = invoice(s, "woo/file-pos-1004")
        assert draft["total"] == Decimal("396.00") and creditnotes(s, draft["id"]) == []
        assert await s.services.sweep.drafts.run() == 0  # still a draft: nothing re-queued
        await s.services.dyn.book_invoice(int(draft["id"]))  # a human books it in Dynaccount
        assert await s.services.sweep.drafts.run() == 1
        await drive(s, clock)
        assert creditnotes(s, draft["id"]) == [Decimal("99.00")]
