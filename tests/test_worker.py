from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from agent.clock import ManualClock
from agent.config import WorkerConfig
from agent.journal import Journal, NewDelivery, WorkItem
from agent.outcomes import Outcome, Progressed, WorkError
from agent.retry import ErrorKind
from agent.worker import Worker


@pytest.fixture
async def journal(tmp_path: Path):  # type: ignore[no-untyped-def]
    clock = ManualClock()
    j = await Journal.open(tmp_path / "j.db", clock=clock)
    j.test_clock = clock  # type: ignore[attr-defined]
    yield j
    await j.close()


def _config(**kw: float) -> WorkerConfig:
    return WorkerConfig(concurrency=int(kw.get("concurrency", 4)), backoff_base_seconds=10,
                        backoff_cap_seconds=1000, max_attempts=3)


async def _deliver(journal: Journal, rid: int, body: bytes | None = None) -> None:
    await journal.record_delivery(NewDelivery(
        received_at=journal.test_clock.now(), headers={}, body=body or b'{"id":%d}' % rid,  # type: ignore[attr-defined]
        signature="valid", state="queued", topic="order.updated", resource_id=str(rid), work_key=f"order:{rid}",
    ))


async def test_outcomes_are_recorded(journal: Journal) -> None:
    for rid in (1, 2, 3):
        await _deliver(journal, rid)
    outcomes = {"order:1": Outcome("done"), "order:2": Outcome("skipped", "status pending is not a trigger")}

    async def process(item: WorkItem) -> Outcome:
        if item.key == "order:3":
            raise WorkError("Dynaccount refused: vatcode_name unknown", ErrorKind.PERMANENT)
        return outcomes[item.key]

    worker = Worker(journal, process, _config(), journal.test_clock, rand=lambda: 0.0)  # type: ignore[attr-defined]
    assert await worker.run_once() == 3
    states = {w.key: (w.state, w.reason, w.error) for w in await journal.list_work()}
    assert states["order:1"] == ("done", None, None)
    assert states["order:2"] == ("skipped", "status pending is not a trigger", None)
    assert states["order:3"][0] == "failed" and "vatcode_name unknown" in (states["order:3"][2] or "")
    assert await worker.run_once() == 0


async def test_transient_errors_back_off_then_retry_slowly_never_fail(journal: Journal) -> None:
    """Regression (issue 10 item 4): after max_attempts a transient failure marked the item failed."""
    clock: ManualClock = journal.test_clock  # type: ignore[attr-defined]
    await _deliver(journal, 7)
    calls = 0

    async def process(item: WorkItem) -> Outcome:
        nonlocal calls
        calls += 1
        raise ConnectionError("connection reset")

    worker = Worker(journal, process, _config(), clock, rand=lambda: 0.0)
    assert await worker.run_once() == 1
    item = await journal.get_work("order:7")
    assert item is not None and item.state == "pending" and item.attempts == 1
    assert item.due_at == pytest.approx(clock.now() + 5)  # base 10, equal jitter, rand 0
    assert await worker.run_once() == 0  # not due yet
    clock.advance(5)
    assert await worker.run_once() == 1
    clock.advance(10)
    assert await worker.run_once() == 1
    item = await journal.get_work("order:7")
    assert item is not None and item.state == "pending" and item.attempts == 3 and calls == 3
    assert item.due_at == pytest.approx(clock.now() + 3600)  # the slow schedule, shown on the item:
    assert "3 failed attempts without progress: retrying every 1 h" in (item.error or "")
    events = await journal.list_events("order:7")
    assert len(events) == 3 and events[0].data is not None and events[0].data["slow"] is True
    clock.advance(3600)
    assert await worker.run_once() == 1 and calls == 4  # and again an hour later


async def test_a_failed_pass_that_got_further_starts_the_count_again(journal: Journal) -> None:
    """Issue 10 item 4: attempts count failures without progress."""
    clock: ManualClock = journal.test_clock  # type: ignore[attr-defined]
    await _deliver(journal, 8)
    passes = 0

    async def process(item: WorkItem) -> Outcome:
        nonlocal passes
        passes += 1
        try:
            raise ConnectionError("connection reset")
        except ConnectionError as exc:
            if passes % 2 == 0:  # every second pass gets one step further before it fails
                raise Progressed(f"step {passes}") from exc
            raise

    worker = Worker(journal, process, _config(), clock, rand=lambda: 0.0)
    for _ in range(8):
        assert await worker.run_once() == 1
        item = await journal.get_work("order:8")
        assert item is not None and item.state == "pending" and item.attempts <= 2, item
        clock.advance(1000)
    events = await journal.list_events("order:8")
    assert any(e.data and e.data["progress"] == "step 8" and e.data["attempt"] == 1 for e in events)
    assert "ConnectionError: connection reset" in (item.error or "")


async def test_new_delivery_while_running_leaves_item_pending(journal: Journal) -> None:
    await _deliver(journal, 9)

    async def process(item: WorkItem) -> Outcome:
        await _deliver(journal, 9, b'{"id":9,"status":"completed"}')
        return Outcome("done")

    worker = Worker(journal, process, _config(), journal.test_clock)  # type: ignore[attr-defined]
    # pass 1 sees a new delivery arrive meanwhile -> pending again; pass 2's delivery is a repeat -> done
    assert await worker.run_once() == 2
    item = await journal.get_work("order:9")
    assert item is not None and item.state == "done"
    calls: list[str] = []

    async def record(item: WorkItem) -> Outcome:
        calls.append(item.key)
        return Outcome("done")

    await _deliver(journal, 9, b'{"id":9,"v":3}')
    worker2 = Worker(journal, record, _config(), journal.test_clock)  # type: ignore[attr-defined]
    assert await worker2.run_once() == 1 and calls == ["order:9"]


async def test_generation_check_exact(journal: Journal) -> None:
    await _deliver(journal, 5)
    [item] = await journal.claim_due(10)
    await _deliver(journal, 5, b'{"id":5,"changed":true}')
    assert await journal.finish(item, "done") == "pending"
    [again] = await journal.claim_due(10)
    assert await journal.finish(again, "done") == "done"


async def test_concurrency_limit_and_one_per_resource(journal: Journal) -> None:
    for rid in range(1, 11):
        await _deliver(journal, rid)
    running: set[str] = set()
    peak = 0

    async def process(item: WorkItem) -> Outcome:
        nonlocal peak
        assert item.key not in running
        running.add(item.key)
        peak = max(peak, len(running))
        await asyncio.sleep(0.01)
        running.discard(item.key)
        return Outcome("done")

    worker = Worker(journal, process, _config(concurrency=3), journal.test_clock)  # type: ignore[attr-defined]
    assert await worker.run_once() == 10
    assert peak == 3


async def test_auth_error_pauses_everything_then_probes(journal: Journal) -> None:
    clock: ManualClock = journal.test_clock  # type: ignore[attr-defined]
    for rid in (1, 2, 3):
        await _deliver(journal, rid)
    refuse = True
    seen: list[str] = []

    async def process(item: WorkItem) -> Outcome:
        seen.append(item.key)
        if refuse:
            raise WorkError("401 wrong X-Hash", ErrorKind.AUTH)
        return Outcome("done")

    worker = Worker(journal, process, _config(concurrency=1), clock, rand=lambda: 0.0)
    assert await worker.run_once() == 1
    assert worker.paused_reason and "X-Hash" in worker.paused_reason
    assert await worker.run_once() == 0  # paused: nothing else is tried
    clock.advance(5)
    refuse = False
    assert await worker.run_once() == 3
    assert worker.paused_reason is None
    assert {w.state for w in await journal.list_work()} == {"done"}


async def test_stop_is_graceful(journal: Journal) -> None:
    await _deliver(journal, 1)
    started, release = asyncio.Event(), asyncio.Event()

    async def process(item: WorkItem) -> Outcome:
        started.set()
        await release.wait()
        return Outcome("done")

    worker = Worker(journal, process, _config(), journal.test_clock, grace_seconds=5)  # type: ignore[attr-defined]
    worker.start()
    await asyncio.wait_for(started.wait(), 5)
    stopping = asyncio.create_task(worker.stop())
    await asyncio.sleep(0.01)
    release.set()
    await asyncio.wait_for(stopping, 5)
    item = await journal.get_work("order:1")
    assert item is not None and item.state == "done"


async def test_stop_cancels_after_grace_and_restart_resumes(journal: Journal) -> None:
    await _deliver(journal, 1)
    started = asyncio.Event()

    async def hang(item: WorkItem) -> Outcome:
        started.set()
        await asyncio.Event().wait()
        return Outcome("done")

    worker = Worker(journal, hang, _config(), journal.test_clock, grace_seconds=0.05)  # type: ignore[attr-defined]
    worker.start()
    await asyncio.wait_for(started.wait(), 5)
    await worker.stop()
    item = await journal.get_work("order:1")
    assert item is not None and item.state == "running"
    assert await journal.reset_running() == 1
    item = await journal.get_work("order:1")
    assert item is not None and item.state == "pending"
