"""The one-off commands against the sandboxes: plan (dry run), replay, import, webhooks."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from agent.__main__ import run_command
from agent.app import JOURNAL
from agent.clock import ManualClock
from agent.config import Config
from agent.operations import import_orders, replay, show_plan, webhooks
from agent.sandbox.demo import CK, CS, WEBHOOK_SECRET, Stack, place_orders, refund_some

from .conftest import drive  # type: ignore[import-not-found]

ROOT = Path(__file__).resolve().parents[2]


def _unowned(stack: Stack, name: str) -> Config:
    """The stack's settings over a journal of its own, which no agent owns (the stack's daemon owns its own)."""
    path = stack.config.journal.path.with_name(f"{name}.sqlite3")
    return stack.config.model_copy(update={"journal": stack.config.journal.model_copy(update={"path": path})})


def _books(stack: Stack) -> tuple[int, int, int]:
    t = stack.dyn.store.tables
    return len(t["debtor_invoice"]), len(t["debtor_creditnote"]), len(t["debtor"])


async def test_plan_shows_lines_and_writes_nothing(stack: tuple[Stack, ManualClock]) -> None:
    s, _ = stack
    [order_id] = await place_orders(s, 1)
    before = _books(s)
    text = await run_command(s.config, lambda a, _: show_plan(a, order_id))
    assert _books(s) == before
    assert "K25" in text and "KRUS-001" in text and "woo/order-" in text
    assert await s.app[JOURNAL].get_link("order", order_id) is None


async def test_plan_shows_planned_credit_notes(stack: tuple[Stack, ManualClock]) -> None:
    s, clock = stack
    [order_id] = await place_orders(s, 1)
    await drive(s, clock)
    s.woo.hold()  # the agent does not see the refund yet
    await refund_some(s, [order_id], {0: "line"})
    text = await run_command(s.config, lambda a, _: show_plan(a, order_id))
    assert "credit" in text.lower() and "woo/refund-" in text
    s.woo.release()


async def test_replay_processes_a_failed_order_again(stack: tuple[Stack, ManualClock]) -> None:
    s, _ = stack
    s.dyn.faults.force("5xx", times=1000)
    [order_id] = await place_orders(s, 1)
    await s.woo.wait_idle()
    await s.services.worker.run_once()
    item = await s.app[JOURNAL].get_work(f"order:{order_id}")
    assert item is not None and item.state == "pending" and item.attempts == 1
    s.dyn.faults.clear()
    s.dyn.faults.forced.clear()
    # with the agent owning the journal, replay only queues the order (no two processes work on one order)
    assert "queued" in await run_command(s.config, lambda a, running: replay(a, order_id, daemon_running=running))
    assert _books(s)[0] == 0
    # over a journal no agent owns, replay processes it in its own process
    elsewhere = _unowned(s, "replay")
    result = await run_command(elsewhere, lambda a, running: replay(a, order_id, daemon_running=running))
    assert f"order:{order_id} -> done" in result, result
    assert _books(s)[0] == 1


async def test_import_historic_orders(stack: tuple[Stack, ManualClock]) -> None:
    s, _ = stack
    s.woo.hold()
    s.woo.drop_next(1000)  # the webhooks never arrive: only the import finds these orders
    ids = await place_orders(s, 4)
    since = datetime.now(UTC) - timedelta(days=1)
    dry = await run_command(s.config, lambda a, running: import_orders(a, since, None, True, daemon_running=running))
    assert "4 orders" in dry and _books(s)[0] == 0
    elsewhere = _unowned(s, "import")
    result = await run_command(elsewhere, lambda a, running: import_orders(a, since, None, False, daemon_running=running))
    assert "4 orders imported: 4 done" in result, result
    assert _books(s)[0] == len(ids)


async def test_import_again_over_the_same_period_writes_nothing(stack: tuple[Stack, ManualClock]) -> None:
    """Issue 17: a second import over the same range costs one list call per page and no Dynaccount call;
    an order changed in the shop since is the only one run again (and still books nothing twice)."""
    s, _ = stack
    s.woo.hold()
    s.woo.drop_next(1000)  # only the import finds these orders
    ids = await place_orders(s, 3)
    since = datetime.now(UTC) - timedelta(days=1)
    elsewhere = _unowned(s, "again")

    async def run() -> str:
        return await run_command(elsewhere, lambda a, running: import_orders(a, since, None, False,
                                                                             daemon_running=running))

    assert "3 orders imported: 3 done" in await run()
    books = _books(s)
    s.woo.state.calls.clear()
    calls_before = s.dyn.stats["requests"]
    assert "3 orders imported: 3 unchanged" in await run()
    assert s.dyn.stats["requests"] == calls_before  # no Dynaccount call at all, so no write
    assert s.woo.state.calls == {"GET orders": 1}  # one page, no order read one by one
    await s.shop.update_order(ids[1], {"customer_note": "Ring på døren"})
    assert "3 orders imported: 1 done, 2 unchanged" in await run()
    assert _books(s) == books


async def test_webhooks_heal_recreates_a_deleted_webhook(stack: tuple[Stack, ManualClock]) -> None:
    s, _ = stack
    hooks = await s.shop.list_webhooks()
    await s.shop.delete_webhook(hooks[0].id)
    await s.shop.update_webhook(hooks[1].id, status="disabled")
    text = await run_command(s.config, lambda a, _: webhooks(a, heal=True))
    assert hooks[0].topic in text and "re-activated" in text
    assert {h.status for h in await s.shop.list_webhooks()} == {"active"}


def test_cli_check_plan_usage(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "agent", "plan", "--help"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0 and "ORDER_ID" in out.stdout.upper()
    config = tmp_path / "c.toml"
    config.write_text(f"""
[woocommerce]
url = "http://127.0.0.1:9"
consumer_key = "{CK}"
consumer_secret = "{CS}"
webhook_secret = "{WEBHOOK_SECRET}"
[dynaccount]
api_id = 1
api_key = "k"
api_secret = "s"
base_url = "http://127.0.0.1:9"
[journal]
path = "{tmp_path / 'j.sqlite3'}"
""")
    out = subprocess.run([sys.executable, "-m", "agent", "plan", "17", "--config", str(config)], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode != 0
    assert "Traceback" not in out.stderr and "WooCommerce" in out.stderr, out.stderr




async def test_import_shows_progress_is_interruptible_and_resumes(stack: tuple[Stack, ManualClock]) -> None:
    import asyncio
    import io

    from agent.importer import Importer, PlainProgress, progress_json
    from agent.journal import Journal

    s, _ = stack
    s.woo.hold()
    s.woo.drop_next(1000)  # only the import finds these orders
    ids = await place_orders(s, 6)
    since = datetime.now(UTC) - timedelta(days=1)
    elsewhere = _unowned(s, "progress")  # no daemon owns this journal: the import runs here
    out = io.StringIO()

    class StopAfterThree(PlainProgress):
        def advance(self, key: str, state: str) -> None:
            super().advance(key, state)
            if self._done == 3:  # Ctrl-C arrives: asyncio.run cancels the running import (at its next await)
                task = asyncio.current_task()
                assert task is not None
                task.cancel()

    task = asyncio.create_task(run_command(elsewhere, lambda a, running: import_orders(
        a, since, None, False, daemon_running=running,
        progress=lambda total, start: StopAfterThree(total, start, out))))
    try:
        await task
        raise AssertionError("the import was not interrupted")
    except asyncio.CancelledError:
        pass
    # the import runs the worker's concurrency (4 here) side by side: the first batch of 4 is done and saved
    assert _books(s)[0] == 4
    journal = await Journal.open(elsewhere.journal.path)
    try:
        state = await Importer(journal).state()
    finally:
        await journal.close()
    assert state is not None and state.status == "interrupted" and state.position == 4
    view = progress_json(state)
    assert view is not None and view["percent"] == 67 and "run the same command again" in view["summary"]
    # plain lines (not a terminal): a header and one line per step of the way
    lines = out.getvalue().splitlines()
    assert lines[0] == "import: 6 orders" and lines[1].startswith("import: 1/6 (order:")
    out2 = io.StringIO()
    result = await run_command(elsewhere, lambda a, running: import_orders(
        a, since, None, False, daemon_running=running, progress=lambda total, start: PlainProgress(total, start, out2)))
    assert result == "6 orders imported: 6 done", result
    assert out2.getvalue().splitlines()[0] == "import: 6 orders, resuming at 4"
    assert _books(s)[0] == len(ids) == 6


async def test_sync_products_command_dry_run_then_for_real(stack: tuple[Stack, ManualClock]) -> None:
    from agent.operations import catalog_sync

    s, _ = stack
    config = _unowned(s, "catalog")
    config = config.model_copy(update={"products": config.products.model_copy(
        update={"on_shop_events": True, "sync": "create_and_update"})})  # fmt: skip
    before = s.dyn.stats.get("put product", 0)
    dry = await run_command(config, lambda a, _: catalog_sync(a, "products", dry_run=True))
    assert "sync products (dry run):" in dry and "failed 1" in dry and "no SKU" in dry  # the seeded 104
    assert s.dyn.stats.get("put product", 0) == before
    real = await run_command(config, lambda a, _: catalog_sync(a, "products", dry_run=False))
    again = await run_command(config, lambda a, _: catalog_sync(a, "products", dry_run=False))
    assert "created" in real and "updated 0" in again and "created 0" in again
