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

from agent.demo import CK, CS
from agent.demo_orders import RefundSpec, order_payloads, refund_payload
from agent.dynaccount.sandbox import SandboxConfig, SandboxHandle, running_sandbox
from agent.woo.client import WooClient
from agent.woo.sandbox import WooSandbox, running_woo_sandbox

from .crashkit import (  # type: ignore[import-not-found]
    WEBHOOK_PATH,
    AgentProcess,
    audit_books,
    count_documents,
    documents,
    free_port,
    journal_story,
    until,
    write_config,
)

SEED = 20261124
ORDERS = 200
ORDER_KILLS = 10
REFUND_KILLS = 3
ORDER_PAUSE = 0.05  # seconds between two orders: ~15 s of checkout traffic
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
                 books: Books, *, timeout: float) -> dict[str, int]:  # fmt: skip
    """Wait until the shop has delivered everything, the agent has nothing pending or running and
    the books hold (at least) the expected documents."""
    deadline = time.monotonic() + timeout
    work: dict[str, int] = {}
    while time.monotonic() < deadline:
        await woo.wait_idle()
        work = (await agent.status(session))["work"]
        invoices, booked, notes = count_documents(dyn.store)
        if (work["pending"] == 0 and work["running"] == 0 and booked >= len(books.orders)
                and notes >= len(books.refunds)):  # fmt: skip
            return work
        await asyncio.sleep(0.1)
    invoices, booked, notes = count_documents(dyn.store)
    raise AssertionError(
        f"the agent did not settle in {timeout} s: work {work}, {invoices} invoices ({booked} booked) for "
        f"{len(books.orders)} orders, {notes} credit notes for {len(books.refunds)} refunds\n{agent.log_tail()}"
    )


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
        try:
            await agent.start(session)
            hook_url = f"{agent.url}{WEBHOOK_PATH}"
            await until(lambda: {w.topic for w in woo.dispatcher.webhooks.values()
                                 if w.delivery_url == hook_url and not w.pending_delivery} >= TOPICS,
                        timeout=15, what="the agent to register its webhooks")  # fmt: skip

            # 200 orders flow; the agent dies at 10 random moments
            placing = asyncio.create_task(place_orders(shop, books))
            points = sorted(rng.sample(range(5, ORDERS - 5), ORDER_KILLS))
            await kill_and_restart(agent, session, rng, lambda: len(books.order_ids), points, "order")
            await placing

            # refunds of every kind once their invoices are booked; the agent dies 3 more times
            plan = refund_plan(rng, books.order_ids)
            targets = {order_id for order_id, _ in plan}
            await until(lambda: all(any(str(d.get("is_booked")).upper() in ("YES", "TRUE", "1") for d in docs)
                                    for oid, docs in documents(dyn.store, "debtor_invoice", "woo-order-").items()
                                    if oid in targets)
                        and targets <= set(documents(dyn.store, "debtor_invoice", "woo-order-")),
                        timeout=60, what=f"invoices of the orders to refund\n{agent.log_tail()}",
                        step=0.2)  # fmt: skip
            refunding = asyncio.create_task(place_refunds(shop, books, plan))
            points = sorted(rng.sample(range(1, len(plan)), REFUND_KILLS))
            await kill_and_restart(agent, session, rng, lambda: len(books.refunds), points, "refund")
            await refunding

            work = await settle(agent, session, woo, dyn, books, timeout=60)
            code = await agent.stop()
        finally:
            agent.ensure_dead()
        elapsed = time.monotonic() - started

        with sqlite3.connect(config.journal.path) as conn:
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
        problems = audit_books(dyn.store, books.orders, books.refunds)
        problems += [f"{n} work item(s) {state}" for state, n in work.items() if state in ("failed", "held") and n]
        problems += [] if code == 0 else [f"SIGTERM: the agent exited with {code}"]
        orders = sorted({int(p.split()[1].rstrip(":")) for p in problems if p.startswith("order ")})
        refunds = sorted({int(p.split()[1].rstrip(":")) for p in problems if p.startswith("refund ")})
        assert not problems, (
            f"{len(problems)} problem(s) ({summary}):\n" + "\n".join(problems[:20])
            + f"\n\njournal:\n{journal_story(config.journal.path, orders, refunds)}\n\nagent log:\n{agent.log_tail()}"
        )
