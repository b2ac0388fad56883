"""Several shops, one Dynaccount (issue 19): two WooCommerce sandboxes, two agents with their own
journals and ``[shop] name``, one Dynaccount sandbox, the same order numbers in both shops."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from agent.app import open_agent
from agent.clock import ManualClock
from agent.operations import process_now
from agent.sandbox.demo import Stack, demo_stack, place_orders, refund_some, verify
from agent.sandbox.demo_orders import order_payloads
from agent.sandbox.dynaccount.faults import FaultConfig
from agent.sandbox.dynaccount.server import SandboxConfig, running_sandbox

from .conftest import drive  # type: ignore[import-not-found]

SHOPS = {
    "shop-dk": {"shop": {"name": "shop-dk", "dimension_name": "WEB-DK"},
                "debtors": {"range_start": 10000, "range_end": 19999}},
    "shop-de": {"shop": {"name": "shop-de", "dimension_name": "WEB-DE"},
                "debtors": {"range_start": 20000, "range_end": 29999}},
}  # fmt: skip
FAULTS = {"error_5xx": 0.15, "commit_then_fail": 0.05, "drop": 0.03}


@contextlib.asynccontextmanager
async def two_shops(tmp_path: Path, shops: dict[str, Any] = SHOPS
                    ) -> AsyncIterator[tuple[Any, dict[str, tuple[Stack, ManualClock]]]]:  # fmt: skip
    async with running_sandbox(SandboxConfig(faults=FaultConfig(seed=19))) as dyn, contextlib.AsyncExitStack() as ex:
        stacks = {}
        for name, overrides in shops.items():
            clock = ManualClock()
            stack = await ex.enter_async_context(demo_stack(
                tmp_path / name, dynaccount=dyn, clock=clock, autostart=False, delivery_delay=0.0,
                overrides=overrides))  # fmt: skip
            stacks[name] = (stack, clock)
        yield dyn, stacks


def _rows(dyn: Any, table: str) -> list[dict[str, Any]]:
    return list(dyn.store.tables[table].values())


def _by_requisition(dyn: Any, table: str) -> Counter[str]:
    return Counter(str(r.get("requisition")) for r in _rows(dyn, table))


async def _books_ok(dyn: Any, stack: Stack, ids: list[int]) -> None:
    verdict = await verify(stack, ids)

    assert not (verdict.missing or verdict.mismatched or verdict.duplicates or verdict.overcredited
                or verdict.vat_mismatched), verdict  # fmt: skip


async def test_two_shops_book_into_one_dynaccount_each_order_once_with_its_shop(tmp_path: Path) -> None:
    async with two_shops(tmp_path) as (dyn, stacks):
        (dk, dk_clock), (de, de_clock) = stacks["shop-dk"], stacks["shop-de"]
        ids = {name: await place_orders(s, 24) for name, (s, _) in stacks.items()}
        assert ids["shop-dk"] == ids["shop-de"]  # both shops number their orders from the same start
        dyn.faults.config.update(FAULTS)
        await asyncio.gather(drive(dk, dk_clock, rounds=2000), drive(de, de_clock, rounds=2000))
        await refund_some(dk, ids["shop-dk"], {1: "line", 4: "amount"})
        await refund_some(de, ids["shop-de"], {1: "full", 5: "shipping"})
        await asyncio.gather(drive(dk, dk_clock, rounds=2000), drive(de, de_clock, rounds=2000))
        assert dyn.faults.injected["5xx"] > 10 and dyn.faults.injected["commit_then_fail"] > 2, dyn.faults.injected
        dyn.faults.clear()
        for name, (stack, _) in stacks.items():
            await _books_ok(dyn, stack, ids[name])
        invoices = _by_requisition(dyn, "debtor_invoice")
        # every reference names its shop, each exactly once; order 17 of each shop is its own invoice
        assert set(invoices.values()) == {1} and all(r.split("/")[0] in SHOPS for r in invoices), invoices
        first = ids["shop-dk"][0]
        assert {f"shop-dk/order-{first}", f"shop-de/order-{first}"} <= set(invoices)
        notes = _by_requisition(dyn, "debtor_creditnote")
        assert set(notes.values()) == {1} and len(notes) == 4 and all(r.split("/")[0] in SHOPS for r in notes)
        vouchers = Counter(str(e.get("txt")) for e in _rows(dyn, "enclosure"))
        assert set(vouchers.values()) == {1} and all(t.split("/")[0] in SHOPS for t in vouchers), vouchers
        # each shop's department on its invoices, credit notes and payment vouchers
        for table in ("debtor_invoice", "debtor_creditnote"):
            for row in _rows(dyn, table):
                assert row["dimension_name"] == SHOPS[row["requisition"].split("/")[0]]["shop"]["dimension_name"]
        for row in _rows(dyn, "enclosure"):
            assert row["dimension_name"] == SHOPS[str(row["txt"]).split("/")[0]]["shop"]["dimension_name"]
        await _no_debtor_clash(dyn, stacks, ids)
        await _same_customer_in_both_shops(stacks, dyn)
        await _restart_with_wiped_journal(tmp_path, dyn, de, de_clock, ids["shop-de"])


def _books(dyn: Any) -> dict[str, Any]:
    return {"invoices": _by_requisition(dyn, "debtor_invoice"), "notes": _by_requisition(dyn, "debtor_creditnote"),
            "vouchers": Counter(str(e.get("txt")) for e in _rows(dyn, "enclosure")),
            "debtors": sorted(str(d["module_id_"]) for d in _rows(dyn, "debtor"))}  # fmt: skip


async def _restart_with_wiped_journal(tmp_path: Path, dyn: Any, stack: Stack, clock: ManualClock,
                                      ids: list[int]) -> None:  # fmt: skip
    """shop-de's agent starts again on an empty journal and goes over all its orders, faults on: it finds
    its own documents by their shop's references and never takes shop-dk's for its own."""
    before = _books(dyn)
    journal = stack.config.journal.model_copy(update={"path": tmp_path / "wiped" / "agent.sqlite3"})
    config = stack.config.model_copy(update={"journal": journal})
    dyn.faults.config.update(FAULTS)
    async with open_agent(config, clock) as agent:
        await process_now(agent, [f"order:{i}" for i in ids])
        for _ in range(2000):
            counts = await agent.journal.counts()
            if counts.work["pending"] == 0 and counts.work["running"] == 0:
                break
            clock.advance(config.worker.backoff_cap_seconds + 1)
            await agent.worker.run_once()
        assert counts.work["done"] == len(ids) and counts.work["failed"] == 0, counts.work
    assert dyn.faults.injected["5xx"] > 0
    dyn.faults.clear()
    after = _books(dyn)
    # nothing booked twice for shop-de, nothing at all for shop-dk
    assert (after["invoices"], after["notes"], after["debtors"]) == (before["invoices"], before["notes"],
                                                                     before["debtors"])  # fmt: skip
    assert set(after["vouchers"].values()) == {1} and set(before["vouchers"]) <= set(after["vouchers"])
    # A payout whose registration failed after its credit note was booked is not retried by the running
    # agent (reported to the exactly-once work); the restarted one registers it, once, as shop-de's.
    assert all(v.startswith("shop-de/refund-") for v in set(after["vouchers"]) - set(before["vouchers"]))


async def _no_debtor_clash(dyn: Any, stacks: dict[str, tuple[Stack, ManualClock]], ids: dict[str, list[int]]) -> None:
    """Every consumer invoice's debtor is that order's customer (no shop's debtor was overwritten by
    the other's), and every debtor the agents created lies in one shop's own range."""
    debtors = {str(d["module_id_"]): d for d in _rows(dyn, "debtor")}
    invoices = {str(r["requisition"]): r for r in _rows(dyn, "debtor_invoice")}
    ranges = [range(o["debtors"]["range_start"], o["debtors"]["range_end"] + 1) for o in SHOPS.values()]
    for name, (stack, _) in stacks.items():
        for order_id in ids[name]:
            row = invoices[f"{name}/order-{order_id}"]
            debtor = debtors[str(row["module_id_"])]
            assert any(int(debtor["module_id_"]) in r for r in ranges), debtor
            if debtor["module_group_name"] == "B2C":
                order = await stack.shop.get_order(order_id)
                assert debtor["email"] == order.billing.email, (name, order_id, debtor)


async def _same_customer_in_both_shops(stacks: dict[str, tuple[Stack, ManualClock]], dyn: Any) -> None:
    """A customer who buys in both shops is one debtor: the match key (e-mail) finds the first shop's."""
    numbers = []
    for name, (stack, clock) in stacks.items():
        payload = next(order_payloads(1, seed=3))
        payload["billing"]["email"] = "both-shops@example.dk"
        order = await stack.shop.create_order(payload)
        await drive(stack, clock)
        [row] = [r for r in _rows(dyn, "debtor_invoice") if r["requisition"] == f"{name}/order-{order.id}"]
        numbers.append(row["module_id_"])
    assert numbers[0] == numbers[1] and 10000 <= int(numbers[0]) <= 19999, numbers


async def test_overlapping_debtor_ranges_never_fail_an_order_nor_overwrite_a_debtor(tmp_path: Path) -> None:
    """Misconfigured: both agents allocate from 10000. A number the other agent created meanwhile is
    "already exists" in Dynaccount: the agent takes the next number; no order fails, no debtor is
    overwritten with another customer."""
    shops = {name: {**o, "debtors": {"range_start": 10000}} for name, o in SHOPS.items()}
    async with two_shops(tmp_path, shops) as (dyn, stacks):
        (dk, dk_clock), (de, de_clock) = stacks["shop-dk"], stacks["shop-de"]
        ids = {name: await place_orders(s, 24, seed=n) for n, (name, (s, _)) in enumerate(stacks.items())}
        await asyncio.gather(drive(dk, dk_clock), drive(de, de_clock))
        for name, (stack, _) in stacks.items():
            counts = await stack.services.journal.counts()
            assert counts.work["failed"] == 0 and counts.work["held"] == 0, (name, counts.work)
            await _books_ok(dyn, stack, ids[name])
        debtors = {str(d["module_id_"]): d for d in _rows(dyn, "debtor")}
        for name, (stack, _) in stacks.items():
            for order_id in ids[name]:
                [row] = [r for r in _rows(dyn, "debtor_invoice") if r["requisition"] == f"{name}/order-{order_id}"]
                debtor = debtors[str(row["module_id_"])]
                if debtor["module_group_name"] == "B2C":
                    assert debtor["email"] == (await stack.shop.get_order(order_id)).billing.email


async def test_a_product_both_agents_create_at_once_fails_neither(tmp_path: Path) -> None:
    """Regression: two agents creating the same SKU at once; the second got "already exists" and its
    order failed. Now it uses the product the other agent created (with that shop's note)."""
    from decimal import Decimal

    from agent.plan import ProductSync

    async with two_shops(tmp_path) as (dyn, stacks):
        appliers = [stack.services.orders.applier for stack, _ in stacks.values()]
        products = [ProductSync("NEW-SKU-1", "Ny vare", Decimal("80.00"), False, f"{name}/sku-NEW-SKU-1")
                    for name in stacks]  # fmt: skip
        await asyncio.gather(*(a.ensure_products([p]) for a, p in zip(appliers, products, strict=True)))
        [row] = [p for p in _rows(dyn, "product") if p["product_id_"] == "NEW-SKU-1"]
        assert row["txt"] in {p.note for p in products}
        for stack, _ in stacks.values():
            link = await stack.services.journal.get_link("product", "NEW-SKU-1")
            assert link is not None and link.dyn_id == str(row["id"])
