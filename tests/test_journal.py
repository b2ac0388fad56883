from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path

import aiosqlite

from agent.clock import ManualClock
from agent.journal import Journal, NewDelivery, migrate, migrations


def _schema(path: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name").fetchall()
        version = conn.execute("PRAGMA user_version").fetchone()[0]
    return [*rows, ("user_version", str(version))]


async def test_step_by_step_migration_equals_fresh_schema(tmp_path: Path) -> None:
    numbers = [n for n, _ in migrations()]
    # numbers are handed out per room before the rooms merge, so gaps are allowed; order and uniqueness are not
    assert numbers == sorted(set(numbers)) and numbers[0] == 1, "migrations are numbered 0001, 0002, … uniquely"
    fresh, stepped = tmp_path / "fresh.db", tmp_path / "stepped.db"
    async with aiosqlite.connect(fresh, isolation_level=None) as conn:
        assert await migrate(conn) == numbers[-1]
    for n in numbers:
        async with aiosqlite.connect(stepped, isolation_level=None) as conn:
            assert await migrate(conn, upto=n) == n
    assert _schema(fresh) == _schema(stepped)
    # migrating an up-to-date journal again changes nothing
    async with aiosqlite.connect(fresh, isolation_level=None) as conn:
        assert await migrate(conn) == numbers[-1]
    assert _schema(fresh) == _schema(stepped)


def _delivery(body: bytes, rid: str = "17", topic: str = "order.updated") -> NewDelivery:
    return NewDelivery(
        received_at=1.0, headers={"X-WC-Webhook-Topic": topic}, body=body, signature="valid", state="queued",
        topic=topic, resource="order", resource_id=rid, delivery_id="same-id", work_key=f"order:{rid}",
    )


async def test_deliveries_collapse_into_one_work_item(tmp_path: Path) -> None:
    clock = ManualClock()
    journal = await Journal.open(tmp_path / "j.db", clock=clock)
    try:
        results = await asyncio.gather(*(journal.record_delivery(_delivery(b'{"id":17,"v":%d}' % i)) for i in range(5)))
        assert len({r.id for r in results}) == 5 and not any(r.duplicate for r in results)
        again = await journal.record_delivery(_delivery(b'{"id":17,"v":0}'))
        assert again.duplicate and again.id == results[0].id
        await journal.record_delivery(_delivery(b'{"id":18}', rid="18"))
        counts = await journal.counts()
        assert counts.deliveries["stored"] == 6
        assert counts.deliveries["duplicates"] == 1
        assert counts.work["pending"] == 2
    finally:
        await journal.close()


async def test_deliveries_that_arrive_while_the_write_lock_is_awaited_share_one_commit(tmp_path: Path) -> None:
    """Issue 17 (intake): the batch is cut once its transaction is open, so deliveries queued while another
    writer (the worker) held the journal join the first commit instead of waiting for a second one."""
    journal = await Journal.open(tmp_path / "j.db")
    commits: list[str] = []
    await journal.db.conn.set_trace_callback(lambda sql: commits.append(sql) if sql == "COMMIT" else None)
    try:
        first: asyncio.Task[object] | None = None
        async with journal.db.transaction():  # another writer holds the journal
            first = asyncio.create_task(journal.record_delivery(_delivery(b'{"id":1}', rid="1")))
            while journal._writer is None:  # the first delivery starts the writer task (a yield, not a wait)
                await asyncio.sleep(0)
            later = [asyncio.create_task(journal.record_delivery(_delivery(b'{"id":%d}' % i, rid=str(i))))
                     for i in (2, 3)]  # fmt: skip
        commits.clear()  # the other writer's COMMIT; nothing awaited since, so the writer has not run
        await asyncio.gather(first, *later)
        assert commits == ["COMMIT"]
        assert (await journal.counts()).work["pending"] == 3
    finally:
        await journal.close()


async def test_same_delivery_id_different_body_is_kept(tmp_path: Path) -> None:
    journal = await Journal.open(tmp_path / "j.db")
    try:
        a = await journal.record_delivery(_delivery(b'{"id":11,"stock":4}', rid="11"))
        b = await journal.record_delivery(_delivery(b'{"id":11,"stock":3}', rid="11"))
        assert a.id != b.id and not b.duplicate
        stored = await journal.get_delivery(b.id)
        assert stored is not None and stored.body == b'{"id":11,"stock":3}' and stored.delivery_id == "same-id"
    finally:
        await journal.close()


async def test_close_drains_queued_writes(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    journal = await Journal.open(path)
    writes = [journal.record_delivery(_delivery(b'{"id":%d}' % i, rid=str(i))) for i in range(1, 50)]
    tasks = [asyncio.create_task(w) for w in writes]
    await asyncio.sleep(0)
    await journal.close()
    assert all(t.done() and not t.exception() for t in tasks)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM deliveries").fetchone()[0] == 49


async def test_identical_deliveries_in_one_batch_fold_into_one_row(tmp_path: Path) -> None:
    journal = await Journal.open(tmp_path / "j.db")
    try:
        same = [journal.record_delivery(_delivery(b'{"id":17,"same":true}')) for _ in range(4)]
        other = journal.record_delivery(_delivery(b'{"id":18}', rid="18"))
        results = await asyncio.gather(*same, other)
        assert len({r.id for r in results[:4]}) == 1
        assert [r.duplicate for r in results] == [False, True, True, True, False]
        counts = await journal.counts()
        assert counts.deliveries["stored"] == 2 and counts.deliveries["duplicates"] == 3
        assert counts.work["pending"] == 2
    finally:
        await journal.close()


async def test_migration_0003_gives_old_links_and_intents_their_order(tmp_path: Path) -> None:
    """Links and intents written before 0003 are found by the per-order read after it."""
    path = tmp_path / "old.sqlite3"
    async with aiosqlite.connect(path, isolation_level=None) as conn:
        await migrate(conn, upto=2)
        rows = [
            ("order", "17", "draft", "woo-order-17", "{}"), ("payment", "17", "registered", "woo-order-17-payment", "{}"),
            ("refund", "40", "booked", "woo-refund-40", '{"order_id": 17}'),
            ("payout", "40", "registered", "woo-refund-40-payout", "{}"),
            ("customer", "person:email:a@b.dk", "synced", None, "{}"),
        ]
        for kind, woo_id, state, reference, data in rows:
            await conn.execute("INSERT INTO links (kind, woo_id, state, reference, data, updated_at)"
                               " VALUES (?,?,?,?,?,0)", (kind, woo_id, state, reference, data))
        for key in ("book-invoice:woo-order-17", "create-creditnote:woo-refund-40", "create-invoice:woo-order-18",
                    "register-payment:woo-order-18-payment"):
            await conn.execute("INSERT INTO intents (key, state, attempts, started_at) VALUES (?, 'started', 1, 0)",
                               (key,))
        await migrate(conn)
    journal = await Journal.open(path)
    try:
        facts = await journal.order_facts(17)
        assert facts.invoice is not None and facts.payment is not None
        assert set(facts.refunds) == {40} and set(facts.payouts) == {40}
        assert set(facts.intents) == {"book-invoice:woo-order-17", "create-creditnote:woo-refund-40"}
        # an invoice whose creation lost its answer before any link existed is still found for its order
        assert set((await journal.order_facts(18)).intents) == {
            "create-invoice:woo-order-18", "register-payment:woo-order-18-payment"}
    finally:
        await journal.close()


async def test_one_reopen_rule_for_deliveries_and_hints(tmp_path: Path) -> None:
    """The rule lives in one SQL statement (no trigger); a hint keeps the delivery that last named the item."""
    journal = await Journal.open(tmp_path / "j.sqlite3", clock=ManualClock())
    try:
        triggers = await journal.db.read("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        assert triggers == []
        recorded = await journal.record_delivery(NewDelivery(
            received_at=1.0, headers={}, body=b'{"id": 5}', signature="valid", state="queued", topic="order.updated",
            resource="order", resource_id="5", work_key="order:5"))  # fmt: skip
        [item] = await journal.claim_due(1)
        await journal.finish(item, "done")
        await journal.hint_work("order:5")
        rows = await journal.db.read("SELECT state, generation, last_delivery FROM work_items WHERE key = 'order:5'")
        assert tuple(rows[0]) == ("pending", 2, recorded.id)
    finally:
        await journal.close()


async def test_a_write_cancelled_while_beginning_leaves_no_transaction_open(tmp_path: Path) -> None:
    """Regression: cancelling a task awaiting BEGIN (Ctrl-C of an import) left the connection inside a
    transaction, so every later write failed with 'cannot start a transaction within a transaction'."""
    journal = await Journal.open(tmp_path / "j.sqlite3", clock=ManualClock())
    try:
        task = asyncio.create_task(journal.set_value("k", "cancelled"))
        await asyncio.sleep(0)  # one turn of the loop: the task is now awaiting its BEGIN
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await journal.set_value("k", "written")  # raised OperationalError before the fix
        assert await journal.get_value("k") == "written"
    finally:
        await journal.close()
