"""Work-list paging over 100,000 items: the keyset page the status page uses vs OFFSET paging, same run.

Prints the time of the first and of a deep page (item 90,000) for both, and their ratio. Keyset paging
reads one index range whatever the depth; OFFSET walks every row it skips.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from agent.clock import ManualClock
from agent.journal import Journal
from agent.journal.worklist import ListFilter, WorkListJournal

N = 100_000
DEPTH = 90_000


async def fill(journal: Journal) -> None:
    async with journal.db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO work_items (key, kind, resource_id, state, due_at, created_at, updated_at)"
            " VALUES (?, 'order', ?, 'done', 0, ?, ?)",
            ((f"order:{i}", str(i), float(i), float(i)) for i in range(1, N + 1)),
        )
        await conn.executemany(
            "INSERT INTO work_summaries (key, number, ordered_at, customer, total, currency, search)"
            " VALUES (?, ?, '2026-07-01T10:00:00', ?, '100.00', 'DKK', ?)",
            ((f"order:{i}", str(i), f"Kunde {i}", f"{i} kunde {i}") for i in range(1, N + 1)),
        )


async def timed(coro_factory, rounds: int = 20) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    for _ in range(rounds):
        await coro_factory()
    return (time.perf_counter() - start) / rounds


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        journal = await Journal.open(Path(tmp) / "bench.sqlite3", clock=ManualClock(), synchronous="NORMAL")
        await fill(journal)
        wl = WorkListJournal(journal)
        cursor = (float(N - DEPTH), f"order:{N - DEPTH}")
        first = await timed(lambda: wl.page(ListFilter(state="done"), 50))
        deep = await timed(lambda: wl.page(ListFilter(state="done", before=cursor), 50))
        offset = await timed(lambda: journal.db.read(
            "SELECT * FROM work_items WHERE state = 'done' ORDER BY updated_at DESC, key DESC LIMIT 50 OFFSET ?",
            (DEPTH,)))
        await journal.close()
    print(f"{N} items, 50 per page")
    print(f"keyset, first page:         {first * 1000:8.2f} ms")
    print(f"keyset, page at {DEPTH}:     {deep * 1000:8.2f} ms")
    print(f"OFFSET, page at {DEPTH}:     {offset * 1000:8.2f} ms  (baseline)")
    print(f"deep page, OFFSET / keyset: {offset / deep:8.1f}x")


if __name__ == "__main__":
    asyncio.run(main())
