"""Exactly once under crashes: the agent runs as a subprocess and is SIGKILLed while work flows.

Both sandboxes run in the test process for the whole test; only the agent dies. 200 orders are placed
through the shop's REST API while the agent is killed at 10 random moments and restarted each time;
then refunds of every kind while it is killed 3 more times. Deliveries that hit a dead agent are lost
(WooCommerce never retries and disables a webhook after repeated failures), so the agent's sweep has
to find those orders and re-activate its webhooks. At the end every order has exactly one booked
invoice of its WooCommerce total, every refund exactly one credit note of its amount, and no invoice
is credited beyond its total.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import aiohttp

from agent.sandbox.demo import CK, CS
from agent.sandbox.demo_orders import RefundSpec, order_payloads, refund_payload
from agent.sandbox.dynaccount.server import SandboxConfig, SandboxHandle, running_sandbox
from agent.sandbox.ports import free_port
from agent.sandbox.woo import WooSandbox, running_woo_sandbox
from agent.woo.client import WooClient

from .crashkit import (  # type: ignore[import-not-found]
    WEBHOOK_PATH,
    AgentProcess,
    audit_books,
    booked_invoices,
    count_documents,
    failure_report,
    until,
    wait_for,
    write_config,
)

SEED = 20261124
ORDERS = 200
ORDER_KILLS = 10
REFUND_KILLS = 3
ORDER_PAUSE = 0.05  # seconds between two orders: ~10 s of checkout traffic
REFUND_PAUSE = 0.1
KINDS: tuple[RefundSpec, ...] = ("line", "amount", "shipping", "partial_qty", "full")
TOPICS = {"order.created", "order.updated", "order.restored", "action.woocommerce_order_refunded"}


class Books:
    """What the shop holds, as the test placed it: the expected side of the audit."""

    def __init__(self) -> None:
        self.orders: dict[int, Decimal] = {}  # order id -> total
        self.order_ids: list[int] = []
        self.refunds: dict[int, tuple[int, Decimal]] = {}  # refund id -> (order id, amount)


async def place_orders(shop: WooClient, books: Books) -> None:
    for payload in order_payloads(ORDERS, seed=SEED):
        order = await shop.create_order(payload)
        books.orders[order.id] = order.total
        books.order_ids.append(order.id)
        await asyncio.sleep(ORDER_PAUSE)


def refund_plan(rng: random.Random, order_ids: list[int]) -> list[tuple[int, RefundSpec]]:
    """20 orders, four of each kind; the partial ones get a goodwill amount on top (two credit notes
    on one invoice, which must stay within its total)."""
    targets = rng.sample(order_ids[:150], 4 * len(KINDS))
    plan = [(order_id, KINDS[n % len(KINDS)]) for n, order_id in enumerate(targets)]
    return plan + [(order_id, "amount") for order_id, kind in plan if kind == "partial_qty"]


async def place_refunds(shop: WooClient, books: Books, plan: list[tuple[int, RefundSpec]]) -> None:
    refunded: dict[int, Decimal] = {}
    for order_id, spec in plan:
        order = await shop.get_order(order_id)
        for payload in refund_payload(order, spec):
            if Decimal(payload["amount"]) > order.total - refunded.get(order_id, Decimal(0)):
                continue  # the shop would refuse it: more than is left to refund
            refund = await shop.create_refund(order_id, payload)
            books.refunds[refund.id] = (order_id, refund.amount)
            refunded[order_id] = refunded.get(order_id, Decimal(0)) + refund.amount
            await asyncio.sleep(REFUND_PAUSE)


async def kill_and_restart(agent: AgentProcess, session: aiohttp.ClientSession, rng: random.Random,
                           placed: Callable[[], int], points: list[int], label: str) -> None:  # fmt: skip
    """SIGKILL the agent once ``placed()`` reaches each point (plus a random fraction of a pause)."""
    for point in points:
        await until(lambda p=point: placed() >= p, timeout=60, what=f"{label} #{point}")
        await asyncio.sleep(rng.uniform(0.0, 0.15))
        await agent.kill(f"{label} #{placed()}")
        await agent.start(session)
        await asyncio.sleep(rng.uniform(0.05, 0.4))  # let it catch up a little before it can die again


async def settle(agent: AgentProcess, session: aiohttp.ClientSession, woo: WooSandbox, dyn: SandboxHandle,
                 books: Books, *, timeout: float, quiet: float = 8.0) -> tuple[dict[str, int], list[str]]:  # fmt: skip
    """Wait until the shop has delivered everything, the agent has nothing pending or running and the
    books hold (at least) the expected documents. Returns the work counts and what is missing: when
    the agent stays idle for ``quiet`` seconds (longer than a sweep reaches back) without the books
    being complete, or after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    idle_since: float | None = None
    while True:
        await woo.wait_idle()
        work: dict[str, int] = (await agent.status(session))["work"]
        invoices, booked, notes = count_documents(dyn.store)
        idle = work["pending"] == 0 and work["running"] == 0
        if idle and booked >= len(books.orders) and notes >= len(books.refunds):
            return work, []
        now = time.monotonic()
        idle_since = (idle_since or now) if idle else None
        if now > deadline or (idle_since is not None and now - idle_since > quiet):
            why = f"idle for {quiet} s" if idle else f"still busy after {timeout} s"
            return work, [f"the agent is {why} but the books are incomplete: work {work}, {invoices} invoices "
                          f"({booked} booked) for {len(books.orders)} orders, {notes} credit notes for "
                          f"{len(books.refunds)} refunds"]  # fmt: skip
        await asyncio.sleep(0.1)


async def test_sigkill_at_random_moments_gives_exactly_one_invoice_and_credit_note_each(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    started = time.monotonic()
    books = Books()
    async with (
        running_sandbox(SandboxConfig()) as dyn,
        running_woo_sandbox(CK, CS, delivery_delay=0.0) as woo,
        aiohttp.ClientSession() as session,
    ):
        port = free_port()
        config_path, config = write_config(tmp_path, port=port, woo_url=woo.base_url, dyn_url=dyn.base_url)
        agent = AgentProcess(config_path, config, tmp_path / "agent.log")
        shop = WooClient(session, base_url=woo.base_url, consumer_key=CK, consumer_secret=CS)
        journal = config.journal.path
        traffic: list[asyncio.Task[None]] = []
        try:
            await agent.start(session)
            hook_url = f"{agent.url}{WEBHOOK_PATH}"
            await until(lambda: {w.topic for w in woo.dispatcher.webhooks.values()
                                 if w.delivery_url == hook_url and not w.pending_delivery} >= TOPICS,
                        timeout=15, what="the agent to register its webhooks")  # fmt: skip

            # 200 orders flow; the agent dies at 10 random moments
            placing = asyncio.create_task(place_orders(shop, books))
            traffic.append(placing)
            points = sorted(rng.sample(range(5, ORDERS - 5), ORDER_KILLS))
            await kill_and_restart(agent, session, rng, lambda: len(books.order_ids), points, "order")
            await placing

            # refunds of every kind once their invoices are booked; the agent dies 3 more times
            plan = refund_plan(rng, books.order_ids)
            targets = {order_id for order_id, _ in plan}
            if not await wait_for(lambda: targets <= booked_invoices(dyn.store), timeout=60, step=0.2):
                missing = sorted(targets - booked_invoices(dyn.store))
                problems = [f"order {order_id}: no booked invoice 60 s after it was placed" for order_id in missing]
                raise AssertionError(failure_report(problems, "before the refunds", journal, agent))
            refunding = asyncio.create_task(place_refunds(shop, books, plan))
            traffic.append(refunding)
            points = sorted(rng.sample(range(1, len(plan)), REFUND_KILLS))
            await kill_and_restart(agent, session, rng, lambda: len(books.refunds), points, "refund")
            await refunding

            work, problems = await settle(agent, session, woo, dyn, books, timeout=60)
            code = await agent.stop()
        finally:
            for task in traffic:
                task.cancel()
            await asyncio.gather(*traffic, return_exceptions=True)
            agent.ensure_dead()
        elapsed = time.monotonic() - started

        with sqlite3.connect(journal) as conn:
            recovered = conn.execute("SELECT key, attempts FROM intents WHERE attempts > 1").fetchall()
            reactivated = conn.execute("SELECT COUNT(*) FROM events WHERE message LIKE '%re-activated'").fetchone()[0]
        conn.close()
        lost = sum(1 for d in woo.deliveries if not d.ok)
        summary = (
            f"{elapsed:.1f} s, {len(books.orders)} orders, {len(books.refunds)} refunds, {len(agent.kills)} kills "
            f"({sum(k.running > 0 for k in agent.kills)} with work running, "
            f"{sum(bool(k.open_intents) for k in agent.kills)} with an intent open: "
            f"{[i for k in agent.kills for i in k.open_intents]}), {lost} deliveries lost to a dead agent, "
            f"webhooks re-activated {reactivated} times, intents retried after a crash: {recovered}"
        )
        print(summary)
        (tmp_path / "summary.txt").write_text(summary)

        assert len(agent.kills) == ORDER_KILLS + REFUND_KILLS, summary
        assert len(books.orders) == ORDERS and len(books.refunds) >= 4 * len(KINDS), summary
        problems += audit_books(dyn.store, books.orders, books.refunds)
        problems += [f"{n} work item(s) {state}" for state, n in work.items() if state in ("failed", "held") and n]
        problems += [] if code == 0 else [f"SIGTERM: the agent exited with {code}"]
        assert not problems, failure_report(problems, summary, journal, agent)
