"""Stock: Dynaccount is master, over real HTTP against both sandboxes (issue 13).

The WooCommerce sandbox counts its catalogue REST calls, so "unchanged items are not written" is
checked by the number of batch calls, not by trusting the agent's own summary.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from agent.app import JOURNAL, create_app
from agent.clock import ManualClock
from agent.journal.stock import StockJournal
from agent.operations import stock_sync
from agent.sandbox.demo import Stack, place_orders
from agent.sandbox.demo_stock import receive_goods, verify_stock
from agent.sandbox.dynaccount.seed import add_product, set_stock
from agent.stock.room import RunSummary
from agent.web.stock import STOCK, STOCK_JOURNAL
from agent.woo.models import Order

from .conftest import drive  # type: ignore[import-not-found]


def dyn_stock(s: Stack, **levels: Any) -> None:
    """Set Dynaccount's stock (SKU -> in_stock, or (in_stock, in_order)); unknown SKUs are created."""
    store = s.dyn.store
    for sku, level in levels.items():
        sku = sku.replace("_", "-")
        in_stock, in_order = level if isinstance(level, tuple) else (level, None)
        if store.find("product", "product_id_", sku) is None:
            add_product(store, sku, sku, Decimal(0), stocked=True)
        set_stock(store, sku, Decimal(str(in_stock)), None if in_order is None else Decimal(str(in_order)))


def calls(s: Stack) -> dict[str, int]:
    return dict(s.woo.state.calls)


def writes(s: Stack) -> int:
    c = s.woo.state.calls
    return c.get("batch products", 0) + c.get("batch variations", 0)


async def sync(s: Stack) -> RunSummary:
    summary = await s.app[STOCK].sync(reason="test")
    await s.woo.flush()  # the product.updated echoes of the writes reach the agent now
    return summary


async def row(s: Stack, sku: str) -> Any:
    [found] = await s.app[STOCK_JOURNAL].items(sku=sku)
    return found


@pytest.fixture
async def shop(stack: tuple[Stack, ManualClock]) -> AsyncIterator[tuple[Stack, ManualClock]]:
    """The seeded shop and Dynaccount with every case of the issue: equal, changed, variations, "parent",
    an item not managing stock, a SKU the shop lacks."""
    s, clock = stack
    dyn_stock(s, KRUS_001=50, BONNE_001=25, TSHIRT_S=12, TSHIRT_M=20, TSHIRT_L=3, HOODIE_S=6, HOODIE_M=9, GAVE_001=7,
              NOPE_1=1)
    s.woo.state.calls.clear()
    yield s, clock


async def test_changed_written_unchanged_not_variations_and_parent(shop: tuple[Stack, ManualClock]) -> None:
    s, _ = shop
    first = await sync(s)
    state = s.woo.state
    assert state.items[11].stock_quantity == 50 and state.items[107].stock_quantity == 25  # already right
    assert [state.items[i].stock_quantity for i in (14, 15, 100)] == [12, 20, 3]
    assert state.items[101].stock_quantity == 15  # the parent keeps both variations' stock: 6 + 9, written once
    assert state.items[12].manage_stock is False and state.items[12].stock_quantity is None  # left alone
    assert calls(s)["batch products"] == 1 and calls(s)["batch variations"] == 1
    assert calls(s)["batch item"] == 4  # 14, 15, 100 and the parent 101; not 11, 107 (already right), not 12
    assert (first.written, first.unchanged, first.skipped, first.errors) == (4, 2, 1, 1)
    assert (await row(s, "NOPE-1")).reason == "no product or variation in the shop has this SKU"
    assert (await row(s, "GAVE-001")).state == "skipped"
    assert (await row(s, "HOODIE-S")).owner_id == 101
    # nothing moved in Dynaccount: no write; only the failed SKU is looked up again
    before = writes(s)
    second = await sync(s)
    assert writes(s) == before and second.written == 0 and second.changed == 1


async def test_echo_of_own_write_is_ignored(shop: tuple[Stack, ManualClock]) -> None:
    s, clock = shop
    await sync(s)
    journal = s.app[JOURNAL]
    echoes = [d for d in await journal.list_deliveries(limit=50) if d.topic == "product.updated"]
    assert {int(d.resource_id or 0) for d in echoes} == {14, 15, 100, 101}
    assert all(d.state == "ignored" and "echo" in (d.error or "") for d in echoes)
    assert all(d.work_key is None for d in echoes)
    for key in ("variation:14", "variation:15", "variation:100", "product:101"):
        assert await journal.get_work(key) is None  # the echo never became work
    assert await drive(s, clock) == 0
    assert not [r for r in await s.app[STOCK_JOURNAL].items() if r.echo_pending]


async def test_human_edit_is_reported_not_copied_back(shop: tuple[Stack, ManualClock]) -> None:
    s, clock = shop
    await sync(s)
    s.woo.set_product(14, stock_quantity=77)  # someone edits the stock in wp-admin
    await s.woo.flush()
    await drive(s, clock)
    item = await s.app[JOURNAL].get_work("variation:14")
    assert item is not None and item.state == "done" and "77" in (item.reason or "")
    found = await row(s, "TSHIRT-S")
    assert found.state == "disagrees" and found.shop_qty == 77 and "Dynaccount is master" in found.reason
    assert s.dyn.store.find("product", "product_id_", "TSHIRT-S")["in_stock"] == Decimal(12)  # not copied back
    # when Dynaccount's stock moves, the master's number is written again and the SKU agrees
    dyn_stock(s, TSHIRT_S=11)
    await sync(s)
    assert s.woo.state.items[14].stock_quantity == 11 and (await row(s, "TSHIRT-S")).state == "ok"


async def test_item_errors_reported_rest_written_retried_next_run(shop: tuple[Stack, ManualClock]) -> None:
    s, _ = shop
    s.woo.state.refuse[15] = ("woocommerce_rest_cannot_edit", "Sorry, you are not allowed to edit this resource.", 401)
    summary = await sync(s)
    assert s.woo.state.items[15].stock_quantity == 4  # refused
    assert [s.woo.state.items[i].stock_quantity for i in (14, 100)] == [12, 3]  # the rest of the batch applied
    failed = await row(s, "TSHIRT-M")
    assert failed.state == "error" and "woocommerce_rest_cannot_edit" in failed.reason
    assert summary.errors == 2 and summary.error is None
    s.woo.state.refuse.clear()
    await sync(s)  # Dynaccount did not move, but a failed SKU is tried again
    assert s.woo.state.items[15].stock_quantity == 20 and (await row(s, "TSHIRT-M")).state == "ok"


async def test_413_is_reported_per_sku_and_the_run_goes_on(shop: tuple[Stack, ManualClock]) -> None:
    s, _ = shop
    s.woo.state.batch_limit = 2  # a shop that lowered woocommerce_rest_batch_items_limit
    await sync(s)
    assert s.woo.state.items[101].stock_quantity == 15  # the products batch (1 item) went through
    for sku in ("TSHIRT-S", "TSHIRT-M", "TSHIRT-L"):
        assert "413" in (await row(s, sku)).reason and "batches of 2" in (await row(s, sku)).reason
    s.woo.state.calls.clear()
    await sync(s)  # the shop said how many it accepts: the next run sends batches that size
    assert [s.woo.state.items[i].stock_quantity for i in (14, 15, 100)] == [12, 20, 3]
    assert s.woo.state.calls["batch variations/13"] == 2


async def test_bad_quantities_and_reserved_stock(make_stack: Callable[..., Any]) -> None:
    _clock, ctx = make_stack(stock={"quantity": "available"})
    async with ctx as s:
        dyn_stock(s, KRUS_001=(30, 4), TSHIRT_S=Decimal("2.5"), TSHIRT_M=-3, TSHIRT_L=(2, 5))
        await sync(s)
        items = s.woo.state.items
        assert items[11].stock_quantity == 26  # in_stock - in_order
        assert items[14].stock_quantity == 8 and "not a whole number" in (await row(s, "TSHIRT-S")).reason
        assert items[15].stock_quantity == 0 and "no backorders" in (await row(s, "TSHIRT-M")).reason
        assert items[100].stock_quantity == 0  # 2 - 5 reserved: never below 0 without backorders


async def test_global_option_off_writes_nothing(shop: tuple[Stack, ManualClock]) -> None:
    s, _ = shop
    s.woo.state.manage_stock_option = False
    summary = await sync(s)
    assert summary.error is not None and "woocommerce_manage_stock" in summary.error and writes(s) == 0
    s.woo.state.manage_stock_option = True
    assert (await sync(s)).written == 4  # nothing was remembered as done while the option was off


async def test_restart_writes_nothing_new(shop: tuple[Stack, ManualClock]) -> None:
    s, clock = shop
    await sync(s)
    before = writes(s)
    # A restart: a new agent on the journal as the first left it on disk. The first agent still owns the
    # original file (one worker per journal), so the new one opens a byte copy of it.
    copy = s.config.journal.path.with_name("restarted.sqlite3")
    with sqlite3.connect(s.config.journal.path) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    config = s.config.model_copy(update={"journal": s.config.journal.model_copy(update={"path": copy})})
    app = create_app(config, clock=clock, autostart=False)
    runner = aiohttp.web.AppRunner(app)
    await runner.setup()
    try:
        again = await app[STOCK].sync(reason="after restart")
        assert again.written == 0 and writes(s) == before and again.compared == first_compared(s)
    finally:
        await runner.cleanup()


def first_compared(s: Stack) -> int:
    return sum(1 for p in s.dyn.store.tables["product"].values() if p.get("is_stocked"))


async def test_booking_moves_dynaccount_stock_and_the_shop_follows(shop: tuple[Stack, ManualClock]) -> None:
    s, clock = shop
    await sync(s)
    room = s.app[STOCK]
    room.next_run = clock.now() + 10_000
    ids = await place_orders(s, 3)
    await drive(s, clock)
    assert room.next_reason == "after booking"  # a booking moved the next run forward (debounced)
    assert room.next_run <= clock.now() + s.config.stock.after_booking_seconds
    await sync(s)
    store = s.dyn.store
    for sku, item_id in (("KRUS-001", 11), ("TSHIRT-S", 14), ("TSHIRT-M", 15)):
        dyn = store.find("product", "product_id_", sku)["in_stock"]
        assert Decimal(s.woo.state.items[item_id].stock_quantity or 0) == dyn, (sku, ids)


async def test_api_and_page_and_same_origin_button(shop: tuple[Stack, ManualClock]) -> None:
    s, _ = shop
    await sync(s)
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{s.agent_url}/api/stock") as resp:
            data = await resp.json()
        assert data["last_run"]["written"] == 4 and data["counts"]["error"] == 1
        by_sku = {i["sku"]: i for i in data["items"]}
        assert by_sku["TSHIRT-S"]["last_write"] == 12 and by_sku["NOPE-1"]["state"] == "error"
        async with http.post(f"{s.agent_url}/stock/sync", headers={"Origin": "http://evil.example"}) as resp:
            assert resp.status == 403
        async with http.post(f"{s.agent_url}/api/stock/sync?dry_run=1", headers={"Origin": s.agent_url}) as resp:
            assert resp.status == 200 and (await resp.json())["dry_run"] is True
        async with http.get(f"{s.agent_url}/stock?state=error") as resp:
            html = await resp.text()
        assert "NOPE-1" in html and "TSHIRT-S" not in html
        async with http.get(f"{s.agent_url}/") as resp:
            assert 'id="stock-sync"' in await resp.text()
    assert isinstance(s.app[STOCK_JOURNAL], StockJournal)


async def _two_mugs_on_hold(s: Stack) -> Order:
    """A bank-transfer order of 2 mugs on hold: it takes stock in the shop at once, invoiced only when paid."""
    return await s.shop.create_order({
        "payment_method": "bacs", "status": "on-hold", "line_items": [{"product_id": 11, "quantity": 2}],
        "billing": {"first_name": "Mette", "last_name": "Hansen", "country": "DK", "email": "m@example.dk"},
    })  # fmt: skip


async def test_units_sold_but_not_booked_are_not_given_back(shop: tuple[Stack, ManualClock]) -> None:
    """A bank-transfer order on hold takes stock in the shop at once but is invoiced only when paid; goods
    received in Dynaccount meanwhile must not hand those units back to the shop."""
    s, clock = shop
    await sync(s)
    order = await _two_mugs_on_hold(s)
    await drive(s, clock)
    assert s.woo.state.items[11].stock_quantity == 48
    assert (await s.app[JOURNAL].get_work(f"order:{order.id}")).state == "skipped"  # type: ignore[union-attr]
    dyn_stock(s, KRUS_001=60)  # goods received
    await sync(s)
    assert s.woo.state.items[11].stock_quantity == 58  # not 60
    assert "2 sold in the shop, not yet booked" in (await row(s, "KRUS-001")).reason
    # paid: invoiced and booked, Dynaccount drops to 58 -> the shop is already right, nothing written
    await s.shop.update_order(order.id, {"status": "processing"})
    await drive(s, clock)
    assert s.dyn.store.find("product", "product_id_", "KRUS-001")["in_stock"] == Decimal(58)
    items_before = s.woo.state.calls.get("batch item", 0)
    summary = await sync(s)
    assert summary.unchanged == 1 and summary.written == 0  # KRUS-001 moved in Dynaccount, the shop agrees
    assert s.woo.state.calls.get("batch item", 0) == items_before


async def test_restocked_refund_before_booking_counts_the_units_still_sold(shop: tuple[Stack, ManualClock]) -> None:
    """A real WooCommerce 10.0.2 lowers ``_reduced_stock`` itself when a refund restocks (2 → 1, with
    ``_restock_refunded_items`` 1: tests/fixtures/woocommerce-realcheck/refund-restock.json), so the unit still
    sold is ``_reduced_stock`` alone — subtracting the restocked units again handed it back to the shop."""
    s, clock = shop
    await sync(s)
    order = await _two_mugs_on_hold(s)
    mug = (await s.shop.request("GET", f"orders/{order.id}"))["line_items"][0]
    await s.shop.request("POST", f"orders/{order.id}/refunds", json={
        "amount": "99.00", "api_refund": False, "api_restock": True,
        "line_items": [{"id": mug["id"], "quantity": 1, "refund_total": "79.20",
                        "refund_tax": [{"id": 1, "refund_total": "19.80"}]}]})  # fmt: skip
    await drive(s, clock)
    assert s.woo.state.items[11].stock_quantity == 49
    dyn_stock(s, KRUS_001=60)  # goods received; the order is not booked yet
    await sync(s)
    assert s.woo.state.items[11].stock_quantity == 59  # one mug is still sold
    assert "1 sold in the shop, not yet booked" in (await row(s, "KRUS-001")).reason


async def test_demo_stock_verdict_follows_dynaccount_and_can_fail(stack: tuple[Stack, ManualClock]) -> None:
    s, clock = stack
    await s.app[STOCK].sync(reason="start")
    await place_orders(s, 12)
    await drive(s, clock)
    await receive_goods(s)
    await s.woo.flush()
    await drive(s, clock)
    verdict = verify_stock(s)
    assert verdict.ok and verdict.checked == 6, verdict.mismatched
    s.woo.state.items[11].stock_quantity = (s.woo.state.items[11].stock_quantity or 0) + 1
    assert not verify_stock(s).ok


async def test_cli_stock_sync_dry_run_writes_nothing(shop: tuple[Stack, ManualClock]) -> None:
    s, _ = shop
    for running in (False, True):  # in this process, and asked of the running agent through its API
        text = await stock_sync(s.services, dry_run=True, full=False, daemon_running=running)
        assert "4 would write" in text and "TSHIRT-S" in text and "NOPE-1" in text
        assert s.woo.state.items[14].stock_quantity == 8 and writes(s) == 0
        assert await s.app[STOCK_JOURNAL].items() == []  # a dry run remembers nothing either
    text = await stock_sync(s.services, dry_run=False, full=False, daemon_running=True)
    assert "4 written" in text and s.woo.state.items[14].stock_quantity == 12


async def test_runs_at_start_on_the_interval_and_once_after_several_bookings(shop: tuple[Stack, ManualClock]) -> None:
    s, clock = shop
    room, cfg = s.app[STOCK], s.config.stock
    first = await room.run_due()
    assert first is not None and first.reason == "start" and await room.run_due() is None
    clock.advance(cfg.interval_seconds)
    again = await room.run_due()
    assert again is not None and again.reason == "interval"
    room.poke()
    clock.advance(cfg.after_booking_seconds / 2)
    room.poke()  # a second booking soon after does not push the run further out, nor add one
    clock.advance(cfg.after_booking_seconds / 2 - 0.001)
    assert await room.run_due() is None
    clock.advance(0.002)
    booked = await room.run_due()
    assert booked is not None and booked.reason == "after booking" and await room.run_due() is None
    assert room.next_run == clock.now() + cfg.interval_seconds
