"""Exactly once on the apply side (issue 10 items 2, 4, 7, 9, 12): find-or-create, lost journals,
half-made documents and foreign-currency payments, against both sandboxes over real HTTP."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from agent.app import JOURNAL
from agent.dynaccount import assumptions as A
from agent.dynaccount.signing import FormValue
from agent.sandbox.demo import Stack, place_orders, refund_some
from agent.sandbox.demo_orders import order_payloads

from .conftest import booked_and_credited, drive  # type: ignore[import-not-found]


def _rows(stack: Stack, table: str) -> list[dict[str, Any]]:
    return list(stack.dyn.store.tables[table].values())


def _books(stack: Stack) -> dict[str, int]:
    """How many rows of each kind the books hold (what must not grow when nothing is new)."""
    tables = ("debtor", "product", A.INVOICE_TABLE, A.INVOICE_LINE_TABLE, A.CREDITNOTE_TABLE, "enclosure", "accounting")
    return {t: len(stack.dyn.store.tables[t]) for t in tables}


def _someone_else_first(stack: Stack, table: str, change: Callable[[dict[str, FormValue]], None]) -> None:
    """Another creator writes a ``table`` row just before the agent's own create of it (the window
    between the agent's look-up and its ``put``), through the same HTTP API."""
    dyn = stack.services.dyn
    original = dyn.put

    async def put(name: str, values: dict[str, FormValue], row_id: int | None = None) -> dict[str, Any]:
        if name == table and row_id is None:
            dyn.put = original  # type: ignore[method-assign]
            other = dict(values)
            change(other)
            await original(name, other)
        return await original(name, values, row_id)

    dyn.put = put  # type: ignore[method-assign]


async def _same_customer(stack: Stack, count: int) -> list[int]:
    payload = next(order_payloads(1))
    return [(await stack.shop.create_order(payload)).id for _ in range(count)]


async def test_orders_of_one_new_customer_at_once_make_one_debtor(make_stack: Callable[..., Any]) -> None:
    """Regression (item 2): the second order's put/debtor failed "already exists" and the order failed."""
    _clock, ctx = make_stack(worker={"concurrency": 8})
    async with ctx as stack:
        # The first order's look-ups are slow: the others wait at the customer's lock, and the look-up
        # just before its create is still in flight when the next order gets its turn.
        stack.dyn.faults.config.slow_ms = 200
        stack.dyn.faults.force("slow", times=3, method="get", name="debtor")
        ids = await _same_customer(stack, 8)
        await stack.woo.wait_idle()
        assert await stack.services.worker.run_once() == 8  # one wave: all eight at once
        journal = stack.app[JOURNAL]
        states = [(await journal.get_work(f"order:{i}")) for i in ids]
        assert [s.state for s in states if s] == ["done"] * 8, states
        email = (await stack.shop.get_order(ids[0])).billing.email
        debtors = [d for d in _rows(stack, "debtor") if d.get("email") == email]
        assert len(debtors) == 1
        invoices = [i for i in _rows(stack, A.INVOICE_TABLE) if i.get("module_id_") == debtors[0]["module_id_"]]
        assert len(invoices) == 8
        assert stack.services.orders.applier.locks_kept() == 0  # the customer's lock went with its last user


async def test_debtor_and_product_locks_are_dropped_once_the_work_is_done(make_stack: Callable[..., Any]) -> None:
    """Regression (issue 17): one lock per debtor key and per SKU was kept for the process's life, so an
    import of 100,000 orders kept tens of thousands of them."""
    clock, ctx = make_stack(worker={"concurrency": 8})
    async with ctx as stack:
        ids = await place_orders(stack, 12)
        await drive(stack, clock)
        journal = stack.app[JOURNAL]
        assert [(await journal.get_work(f"order:{i}")).state for i in ids] == ["done"] * 12  # type: ignore[union-attr]
        assert len(_rows(stack, "debtor")) > 1 and len(_rows(stack, "product")) > 1  # both tables were used
        assert stack.services.orders.applier.locks_kept() == 0


async def test_new_customers_debtors_are_created_side_by_side(make_stack: Callable[..., Any]) -> None:
    """Regression (issue 17): the debtor-number lock was held across ``put/debtor``, so with
    ``max_parallel_calls`` > 1 every new customer waited for the one before to be created in Dynaccount.
    Only choosing and recording the number is serialised now: the first create is held until a second
    one has started (a guard ends the wait if it never does), and the numbers stay distinct."""
    clock, ctx = make_stack(worker={"concurrency": 2}, dynaccount={"max_parallel_calls": 2})
    async with ctx as stack:
        dyn = stack.services.dyn
        original = dyn.put
        second_started = asyncio.Event()
        creates: list[str] = []
        overlapped: list[bool] = []

        async def put(name: str, values: dict[str, FormValue], row_id: int | None = None) -> dict[str, Any]:
            if name == "debtor" and row_id is None:
                creates.append(str(values["module_id_"]))
                if len(creates) == 1:
                    try:  # a guard: with the bug the second create only starts after this one
                        await asyncio.wait_for(second_started.wait(), 5)
                        overlapped.append(True)
                    except TimeoutError:
                        overlapped.append(False)
                else:
                    second_started.set()
            return await original(name, values, row_id)

        dyn.put = put  # type: ignore[method-assign]
        ids = await place_orders(stack, 2)
        await drive(stack, clock)
        assert overlapped == [True] and len(creates) == 2, creates
        assert len(set(creates)) == 2  # two customers, two numbers
        assert [(await stack.app[JOURNAL].get_work(f"order:{i}")).state for i in ids] == ["done"] * 2  # type: ignore[union-attr]
        emails = {(await stack.shop.get_order(i)).billing.email for i in ids}
        assert {d["email"] for d in _rows(stack, "debtor") if str(d["module_id_"]) in creates} == emails


async def test_debtor_created_by_someone_else_between_look_up_and_create_is_used(
    make_stack: Callable[..., Any],
) -> None:
    """Regression (item 2): "already exists" from Dynaccount failed the order for good."""
    clock, ctx = make_stack()
    async with ctx as stack:
        _someone_else_first(stack, "debtor", lambda form: None)  # the same customer, same number
        [order_id] = await place_orders(stack, 1)
        await drive(stack, clock)
        item = await stack.app[JOURNAL].get_work(f"order:{order_id}")
        assert item is not None and item.state == "done", item
        email = (await stack.shop.get_order(order_id)).billing.email
        assert len([d for d in _rows(stack, "debtor") if d.get("email") == email]) == 1


async def test_number_taken_by_another_customer_meanwhile_gets_the_next_number(make_stack: Callable[..., Any]) -> None:
    clock, ctx = make_stack()
    async with ctx as stack:
        _someone_else_first(stack, "debtor", lambda form: form.update(email="someone@else.example", name="Else"))
        [order_id] = await place_orders(stack, 1)
        await drive(stack, clock)
        item = await stack.app[JOURNAL].get_work(f"order:{order_id}")
        assert item is not None and item.state == "done", item
        [invoice] = _rows(stack, A.INVOICE_TABLE)
        debtor = stack.dyn.store.find("debtor", "module_id_", invoice["module_id_"])
        assert debtor is not None and debtor["email"] == (await stack.shop.get_order(order_id)).billing.email


async def test_product_created_by_someone_else_between_look_up_and_create_is_used(
    make_stack: Callable[..., Any],
) -> None:
    """Regression (item 2, products): "already exists" on put/product failed the order."""
    clock, ctx = make_stack()
    async with ctx as stack:
        _someone_else_first(stack, "product", lambda form: None)
        [order_id] = await place_orders(stack, 1)
        await drive(stack, clock)
        item = await stack.app[JOURNAL].get_work(f"order:{order_id}")
        assert item is not None and item.state == "done", item
        skus = Counter(p["product_id_"] for p in _rows(stack, "product"))
        assert max(skus.values()) == 1


async def test_lost_journal_books_nothing_twice(make_stack: Callable[..., Any]) -> None:
    """Regression (item 9): after a restored backup the orders were invoiced (and paid, credited) again."""
    clock, ctx = make_stack()
    async with ctx as stack:
        ids = await booked_and_credited(stack, clock)
        before = _books(stack)
        assert before[A.CREDITNOTE_TABLE] == 2 and before["enclosure"] >= 6
        journal = stack.app[JOURNAL]
        async with journal.db.transaction() as conn:  # the journal is lost: links and intents gone
            await conn.execute("DELETE FROM links")
            await conn.execute("DELETE FROM intents")
        for order_id in ids:
            await journal.requeue(f"order:{order_id}")
        await drive(stack, clock)
        assert _books(stack) == before
        states = {(await journal.get_work(f"order:{i}")).state for i in ids}  # type: ignore[union-attr]
        assert states == {"done"}


@pytest.mark.parametrize("change", ["full refund", "cancelled"])
async def test_order_changed_while_the_invoice_is_half_created_leaves_no_empty_draft(
    make_stack: Callable[..., Any], change: str
) -> None:
    """Regression (item 7): a refund while the invoice was half-created left an empty unbooked invoice
    and the item said "skipped". Now the invoice is completed (and credited) or, if the order needs
    none any more, removed, and the item says what was done."""
    clock, ctx = make_stack()
    async with ctx as stack:
        stack.dyn.faults.force("5xx", times=1, method="insert_bulk", name=A.INVOICE_LINE_TABLE)
        [order_id] = await place_orders(stack, 1)
        await stack.woo.wait_idle()
        await stack.services.worker.run_once()  # the header is made, its lines are not
        assert [i["requisition"] for i in _rows(stack, A.INVOICE_TABLE)] == [f"woo/order-{order_id}"]
        if change == "full refund":
            await refund_some(stack, [order_id], {0: "full"})
        else:
            await stack.shop.update_order(order_id, {"status": "cancelled"})
        await drive(stack, clock)
        lines = Counter(line["invoice_id"] for line in _rows(stack, A.INVOICE_LINE_TABLE))
        assert all(i["is_booked"] and lines[i["id"]] for i in _rows(stack, A.INVOICE_TABLE)), _rows(stack, A.INVOICE_TABLE)
        item = await stack.app[JOURNAL].get_work(f"order:{order_id}")
        assert item is not None and item.state == "done", item
        if change == "cancelled":
            assert _rows(stack, A.INVOICE_TABLE) == [] and "removed unfinished draft invoice" in (item.reason or "")


async def test_eur_payment_is_registered_in_the_invoice_currency(make_stack: Callable[..., Any]) -> None:
    """Regression (item 12): the payment of an EUR invoice was booked without a currency (as DKK)."""
    clock, ctx = make_stack()
    async with ctx as stack:
        payload = {**next(order_payloads(1)), "currency": "EUR"}
        order = await stack.shop.create_order(payload)
        await drive(stack, clock)
        [invoice] = _rows(stack, A.INVOICE_TABLE)
        assert invoice["currency_name"] == "EUR" and invoice["is_booked"]
        rows = _rows(stack, "accounting")
        assert {r["currency_name"] for r in rows} == {"EUR"} and len(rows) == 2
        debtor_row = next(r for r in rows if r["type"] == A.PAYMENT_DEBTOR_TYPE)
        assert Decimal(str(debtor_row["amount"])) == order.total == Decimal(str(invoice["total_amount"]))
        assert invoice["is_matched"]  # settled in its own currency
