"""The journal under faults and at scale (issue 10 items 1, 5, 10): one id parser, the one re-open
rule with fingerprints, a failed COMMIT, reads that never see uncommitted rows, named queries past
10,000 links, a write-path /healthz and pruning by age."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from aiohttp.test_utils import TestClient

from agent.app import JOURNAL, create_app
from agent.clock import ManualClock
from agent.config import Config
from agent.ids import parse_id, parse_work_key, work_key
from agent.journal import CHANGED, Journal, NewDelivery, migrate
from agent.sweep.prune import PruneJournal
from agent.web import status
from agent.web.intake import Intake, read_delivery

DAY = 86400.0


@pytest.fixture
async def journal(tmp_path: Path) -> AsyncIterator[Journal]:
    j = await Journal.open(tmp_path / "j.sqlite3", clock=ManualClock())
    try:
        yield j
    finally:
        await j.close()


def _clock(journal: Journal) -> ManualClock:
    clock = journal.db.clock
    assert isinstance(clock, ManualClock)
    return clock


# -- item 1: one parser for ids ---------------------------------------------------------------------


@pytest.mark.parametrize("text", ["032", "0", "00", "²", "٣", "３", "+3", "-3", " 3", "3 ", "3\n", "1.0", "1e3", "",
                                  "9" * 21, "9" * 5000, "0x1f"])  # fmt: skip
def test_only_plain_positive_integers_are_ids(text: str) -> None:
    assert parse_id(text) is None
    assert parse_work_key(f"order:{text}") is None


def test_canonical_ids_and_keys() -> None:
    assert parse_id("32") == 32 and parse_id(32) == 32 and parse_id("9" * 20) == int("9" * 20)
    assert parse_id(True) is None and parse_id(0) is None and parse_id(-1) is None and parse_id(3.0) is None
    assert parse_work_key("order:32") == "order:32" and work_key("variation", "7") == "variation:7"
    for key in ("x:1", "../order:1", "\x00:1", "order\x00:1", "order:1:2", "order", ":1", "ORDER:1"):
        assert parse_work_key(key) is None, key


@pytest.mark.parametrize("arg", ['"032"', '"²"', '"0"', '"' + "9" * 5000 + '"', "-32"])
def test_intake_never_makes_an_alias_work_key(arg: str) -> None:
    c = read_delivery("action.woocommerce_order_refunded", b'{"action": "x", "arg": %s}' % arg.encode())
    assert c.work_key is None and c.state == "invalid_json", c
    c = read_delivery("order.updated", b'{"id": %s, "status": "processing"}' % arg.encode())
    assert c.work_key is None and c.state == "invalid_json", c
    assert read_delivery("order.updated", b'{"id": 32, "status": "processing"}').work_key == "order:32"


async def test_the_journal_refuses_an_alias_key(journal: Journal) -> None:
    with pytest.raises(ValueError, match="canonical"):
        await journal.hint_work("order:032")
    assert await journal.db.read("SELECT * FROM work_items") == []


async def test_requeue_writes_nothing_for_an_unknown_item(journal: Journal) -> None:
    assert await journal.requeue("order:5") is False
    assert await journal.db.read("SELECT * FROM work_items") == []
    assert await journal.requeue("order:5", create=True) is True  # replay of an order never seen
    assert (await journal.get_work("order:5")).state == "pending"  # type: ignore[union-attr]


# -- item 5: hints keep the backoff and revive only what changed --------------------------------------


async def _fail(journal: Journal, key: str, state: str, fingerprint: str = "fp-1") -> None:
    await journal.hint_work(key)
    [item] = await journal.claim_due(1)
    await journal.acted_on(key, fingerprint)
    await journal.finish(item, state, error="boom" if state == "failed" else None)


async def test_a_hint_never_moves_due_earlier_than_the_backoff(journal: Journal) -> None:
    clock = _clock(journal)
    await journal.hint_work("order:5")
    [item] = await journal.claim_due(1)
    await journal.finish(item, "pending", error="503", retry_at=clock.now() + 3448)
    for fingerprint in (None, "fp-other", CHANGED):
        await journal.hint_work("order:5", fingerprint=fingerprint)
        after = await journal.get_work("order:5")
        assert after is not None and after.due_at == clock.now() + 3448 and after.attempts == 1
    assert await journal.claim_due(10) == []
    clock.advance(3448)
    assert [i.key for i in await journal.claim_due(10)] == ["order:5"]


async def test_a_hint_keeps_the_earlier_due_time_of_fresh_work(journal: Journal) -> None:
    clock = _clock(journal)
    await journal.hint_work("order:5")
    await journal.hint_work("order:5", delay=600)
    assert (await journal.get_work("order:5")).due_at == clock.now()  # type: ignore[union-attr]


@pytest.mark.parametrize("state", ["failed", "held"])
async def test_failed_or_held_is_revived_only_by_a_change(journal: Journal, state: str) -> None:
    await _fail(journal, "order:5", state)
    assert await journal.hint_work("order:5", fingerprint="fp-1") is False  # the sweep: same order
    assert await journal.hint_work("order:5") is False  # import: no evidence of a change
    same = NewDelivery(received_at=2.0, headers={}, body=b'{"id": 5}', signature="valid", state="queued",
                       topic="order.updated", resource="order", resource_id="5", work_key="order:5",
                       fingerprint="fp-1")  # fmt: skip
    await journal.record_delivery(same)
    assert (await journal.get_work("order:5")).state == state  # type: ignore[union-attr]
    assert await journal.hint_work("order:5", fingerprint="fp-2") is True  # the order changed
    item = await journal.get_work("order:5")
    assert item is not None and item.state == "pending" and item.attempts == 0


async def test_a_delivery_without_a_fingerprint_is_a_change(journal: Journal) -> None:
    await _fail(journal, "order:5", "failed")
    action = NewDelivery(received_at=2.0, headers={}, body=b'{"arg": 5}', signature="valid", state="queued",
                         topic="action.woocommerce_order_refunded", resource="action", resource_id="5",
                         work_key="order:5")  # fmt: skip
    await journal.record_delivery(action)
    assert (await journal.get_work("order:5")).state == "pending"  # type: ignore[union-attr]


def _order_delivery(n: int, fingerprint: Any) -> NewDelivery:
    return NewDelivery(received_at=2.0 + n, headers={}, body=b'{"id": 5, "n": %d}' % n, signature="valid",
                       state="queued", topic="order.updated", resource="order", resource_id="5", work_key="order:5",
                       fingerprint=fingerprint)  # fmt: skip


class CountedFingerprint:
    """A lazy fingerprint (as intake passes it) that counts how often the journal computed it."""

    def __init__(self, value: str | None) -> None:
        self.value, self.calls = value, 0

    def __call__(self) -> str | None:
        self.calls += 1
        return self.value


async def test_a_lazy_fingerprint_is_computed_only_where_the_state_compares_it(journal: Journal) -> None:
    """Issue 17 (intake): the order's fingerprint is the costliest step of a webhook request. A new or
    pending item opens whatever the order says, so intake's lazy fingerprint is not computed for it;
    for a finished, failed or held item it is, and it decides as before."""
    new = CountedFingerprint("fp-1")
    await journal.record_delivery(_order_delivery(1, new))
    again = CountedFingerprint("fp-1")
    await journal.record_delivery(_order_delivery(2, again))  # the item is pending: opens anyway
    assert (new.calls, again.calls) == (0, 0)
    assert (await journal.get_work("order:5")).state == "pending"  # type: ignore[union-attr]
    [item] = await journal.claim_due(1)
    await journal.acted_on("order:5", "fp-1")
    running_same = CountedFingerprint("fp-1")
    await journal.record_delivery(_order_delivery(3, running_same))  # running: the generation moves only on a change
    assert running_same.calls == 1 and (await journal.get_work("order:5")).generation == item.generation  # type: ignore[union-attr]
    await journal.finish(item, "failed", error="boom")
    same, unreadable, changed = CountedFingerprint("fp-1"), CountedFingerprint(None), CountedFingerprint("fp-2")
    await journal.record_delivery(_order_delivery(4, same))
    assert same.calls == 1 and (await journal.get_work("order:5")).state == "failed"  # type: ignore[union-attr]
    await journal.record_delivery(_order_delivery(5, changed))
    assert changed.calls == 1 and (await journal.get_work("order:5")).state == "pending"  # type: ignore[union-attr]
    [item] = await journal.claim_due(1)
    await journal.finish(item, "held", error="held")
    await journal.record_delivery(_order_delivery(6, unreadable))  # an order intake cannot read: a change
    assert unreadable.calls == 1 and (await journal.get_work("order:5")).state == "pending"  # type: ignore[union-attr]


async def test_finished_work_reopens_on_a_new_fingerprint_only(journal: Journal) -> None:
    await _fail(journal, "order:5", "done")
    assert await journal.hint_work("order:5", fingerprint="fp-1") is False
    assert await journal.hint_work("order:5", fingerprint="fp-2") is True


# -- item 10: the journal ---------------------------------------------------------------------------


async def test_a_failed_commit_rolls_back_and_the_connection_stays_usable(journal: Journal) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        async with journal.db.transaction() as conn:
            # checked only at COMMIT: the COMMIT itself fails
            await conn.execute("PRAGMA defer_foreign_keys = ON")
            await conn.execute(
                "INSERT INTO work_items (key, kind, resource_id, state, due_at, created_at, updated_at,"
                " last_delivery) VALUES ('order:7', 'order', '7', 'pending', 0, 0, 0, 4242)"
            )
    assert not journal.db.conn.in_transaction
    await journal.hint_work("order:8")  # the next write works
    assert [r[0] for r in await journal.db.read("SELECT key FROM work_items")] == ["order:8"]
    assert await journal.ping()


async def test_a_full_disk_rolls_back_and_later_writes_work(journal: Journal) -> None:
    pages = (await journal.db.read("PRAGMA page_count"))[0][0]
    await journal.db.conn.execute(f"PRAGMA max_page_count = {pages + 2}")
    with pytest.raises(sqlite3.OperationalError, match="full"):
        async with journal.db.transaction() as conn:
            await conn.execute("INSERT INTO kv (key, value, updated_at) VALUES ('big', ?, 0)", ("x" * 200_000,))
    assert not journal.db.conn.in_transaction
    await journal.db.conn.execute("PRAGMA max_page_count = 1073741823")
    await journal.set_value("small", "ok")
    assert await journal.get_value("small") == "ok" and await journal.get_value("big") is None


async def test_reads_never_see_uncommitted_rows(journal: Journal) -> None:
    class Abort(Exception):
        pass

    with pytest.raises(Abort):
        async with journal.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO work_items (key, kind, resource_id, state, due_at, created_at, updated_at)"
                " VALUES ('order:9', 'order', '9', 'pending', 0, 0, 0)"
            )
            assert await journal.get_work("order:9") is None  # not committed: not there for anyone else
            raise Abort
    assert await journal.get_work("order:9") is None


async def test_healthz_checks_the_write_path(aiohttp_client: Callable[..., Any], make_config: Callable[..., Config]) -> None:
    client: TestClient = await aiohttp_client(create_app(make_config(), background=False))  # type: ignore[type-arg]
    async with client.get("/healthz") as resp:
        assert resp.status == 200
    journal = client.app[JOURNAL]
    await journal.db.conn.execute("PRAGMA query_only = ON")  # reads work, writes do not
    async with client.get("/healthz") as resp:
        assert resp.status == 503 and (await resp.json())["ok"] is False
    await journal.db.conn.execute("PRAGMA query_only = OFF")
    async with client.get("/healthz") as resp:
        assert resp.status == 200


async def test_past_ten_thousand_links_every_named_query_sees_everything(journal: Journal) -> None:
    """10,001+ links: an order's credit notes, every draft, every deleted refund and the highest
    debtor number are all seen (a capped scan filtered in Python lost the oldest)."""
    n = 10_001
    async with journal.db.transaction() as conn:
        # the order's own credit notes are the oldest links of all
        rows: list[tuple[Any, ...]] = [("refund", str(i), "booked", str(i), 1.0 + i, "77") for i in range(1, 4)]
        rows += [("refund", str(100 + i), "deleted_in_woo", str(i), 10.0 + i, str(1000 + i)) for i in range(n)]
        rows += [("order", str(20_000 + i), "draft", None, 10.0 + i, str(20_000 + i)) for i in range(n)]
        rows += [("customer", f"c{i}", "synced", str(10_000 + n - i), 10.0 + i, None) for i in range(n)]
        await conn.executemany(
            "INSERT INTO links (kind, woo_id, state, dyn_number, updated_at, order_id) VALUES (?,?,?,?,?,?)", rows
        )
    facts = await journal.order_facts(77)
    assert sorted(facts.refunds) == [1, 2, 3]
    assert len(await journal.draft_invoices()) == n
    assert len(await journal.deleted_refunds()) == n
    assert await journal.highest_debtor_number() == 10_000 + n  # the oldest customer link holds it
    payload = await status.status_payload(journal, Intake(journal, "s", journal.db.clock))
    assert len(payload["attention"]) == n
    plans = await journal.db.read("EXPLAIN QUERY PLAN SELECT * FROM links WHERE kind = 'order' AND state = 'draft'")
    assert "links_kind_state" in " ".join(str(r[3]) for r in plans)


async def test_prune_by_age_keeps_latest_snapshots_open_work_deliveries_and_links(journal: Journal) -> None:
    clock = _clock(journal)
    await _fail(journal, "order:1", "done")
    await _fail(journal, "order:2", "failed")
    for key in ("order:1", "order:2", "refund:9"):
        await journal.save_snapshot(key, {"old": True}, None)
        await journal.save_snapshot(key, {"old": "latest"}, None)
        await journal.add_event(key, "old")
    await journal.add_event(None, "old webhook note")
    await journal.put_link("order", 1, state="booked", order_id=1)
    await journal.record_delivery(NewDelivery(received_at=clock.now(), headers={}, body=b"{}", signature="valid",
                                              state="ignored", topic="coupon.updated"))  # fmt: skip
    clock.advance(91 * DAY)
    await journal.add_event("order:1", "new")
    job = PruneJournal(journal, clock, keep_days=90)
    await job.run()
    assert job.pruned == (2, 3)  # one old snapshot each of order:1 and refund:9; their events and the note
    left = [(r[0], r[1]) for r in await journal.db.read("SELECT work_key, message FROM events ORDER BY id")]
    assert left == [("order:2", "old"), ("order:1", "new")]
    snaps = await journal.db.read("SELECT work_key, resource FROM snapshots ORDER BY id")
    assert [(r[0], r[1]) for r in snaps] == [("order:1", '{"old": "latest"}'), ("order:2", '{"old": true}'),
                                              ("order:2", '{"old": "latest"}'), ("refund:9", '{"old": "latest"}')]  # fmt: skip
    assert len(await journal.list_deliveries()) == 1 and await journal.get_link("order", 1) is not None
    await journal.add_event("order:1", "another")
    clock.advance(100 * DAY)
    await job.run()  # more than an hour later: prunes again
    assert job.pruned == (0, 2)
    clock.advance(60)
    job.pruned = (-1, -1)
    await job.run()  # within the hour: does nothing
    assert job.pruned == (-1, -1)
    assert (await PruneJournal(journal, clock, keep_days=0).run()) == 0  # 0 keeps everything


async def test_migration_0008_retires_alias_items(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    conn = await aiosqlite.connect(path, isolation_level=None)
    try:
        await migrate(conn, upto=5)
        await conn.executemany(
            "INSERT INTO work_items (key, kind, resource_id, state, due_at, created_at, updated_at)"
            " VALUES (?, 'order', ?, ?, 1, 1, 1)",
            [("order:032", "032", "pending"), ("order:0040", "0040", "failed"), ("order:40", "40", "done")],
        )
        await migrate(conn)
        rows = await conn.execute_fetchall("SELECT key, state FROM work_items ORDER BY key")
    finally:
        await conn.close()
    assert [tuple(r) for r in rows] == [("order:0040", "skipped"), ("order:032", "skipped"), ("order:32", "pending"),
                                        ("order:40", "done")]  # fmt: skip
