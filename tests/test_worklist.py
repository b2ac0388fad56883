"""The bookkeeper's work list over 100,000 items: keyset pages, filters, and index use."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from agent.clock import ManualClock
from agent.journal import Journal
from agent.journal.worklist import ListFilter, WorkListJournal

N = 100_000


async def fill(journal: Journal) -> None:
    """100,000 order items (every 7th failed), each with a summary; order dates spread over 2026."""
    async with journal.db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO work_items (key, kind, resource_id, state, due_at, created_at, updated_at)"
            " VALUES (?, 'order', ?, ?, 0, ?, ?)",
            ((f"order:{i}", str(i), "failed" if i % 7 == 0 else "done", float(i), float(i)) for i in range(1, N + 1)),
        )
        await conn.executemany(
            "INSERT INTO work_summaries (key, number, ordered_at, customer, total, currency, search)"
            " VALUES (?, ?, ?, ?, '100.00', 'DKK', ?)",
            ((f"order:{i}", str(i), f"2026-{1 + i % 12:02d}-15T10:00:00", f"Kunde {i}",
              f"{i} kunde {i} k{i}@example.dk") for i in range(1, N + 1)),
        )


async def test_pages_filters_and_the_index(tmp_path: Path) -> None:
    journal = await Journal.open(tmp_path / "j.sqlite3", clock=ManualClock())
    try:
        await fill(journal)
        await journal.put_link("order", 99_999, state="booked", dyn_id=5, dyn_number=4711)
        wl = WorkListJournal(journal)
        first = await wl.page(ListFilter(), 50)
        assert [r.key for r in first[:3]] == ["order:100000", "order:99999", "order:99998"]
        assert first[1].document == "4711" and first[1].customer == "Kunde 99999" and first[1].total == "100.00"
        # keyset paging: the page after the last row shown, however deep
        cursor = (first[-1].updated_at, first[-1].key)
        second = await wl.page(ListFilter(before=cursor), 50)
        assert second[0].key == "order:99950" and len(second) == 50
        deep = await wl.page(ListFilter(before=(101.0, "order:101")), 50)
        assert [r.key for r in deep][:2] == ["order:100", "order:99"] and len(deep) == 50
        failed = await wl.page(ListFilter(state="failed"), 20)
        assert {r.state for r in failed} == {"failed"} and failed[0].key == "order:99995"
        march = await wl.page(ListFilter(start=date(2026, 3, 1), end=date(2026, 4, 1)), 10)
        assert all(r.ordered_at and r.ordered_at.startswith("2026-03") for r in march) and len(march) == 10
        found = await wl.page(ListFilter(text="K4242@EXAMPLE"), 10)
        assert [r.key for r in found] == ["order:4242"]
        assert [r.key for r in await wl.page(ListFilter(text="order:17"), 10)] == ["order:17"]
        assert await wl.page(ListFilter(text="100%_"), 10) == []  # LIKE wildcards are literal
        plan = " ".join(await wl.plan_of(ListFilter(state="done", before=(500.0, "order:500"))))
        assert "USING" in plan and "INDEX work_items_state_updated" in plan and "TEMP B-TREE" not in plan
    finally:
        await journal.close()
