"""Dynaccount calls per order, counted by method in the sandbox's request log (issue 17): counts, not time.

A regression that adds a call (a read-back of what a create answered, a look-up a cache answers, a call in
the re-run of a finished order) changes these counts and fails here, whatever the machine's speed."""

from __future__ import annotations

from collections import Counter
from typing import Any

from agent.app import JOURNAL
from agent.clock import ManualClock
from agent.journal import CHANGED
from agent.sandbox.demo import Stack
from agent.sandbox.demo_orders import order_payloads

from .conftest import drive  # type: ignore[import-not-found]

# What the work needs, and no more: header + lines, the verification read of Dynaccount's totals before booking
# (issue 12), booking (its answer is the booked row), and the payment voucher + its rows (the draft's id is
# cached). The look-up by reference before the first create (exactly-once, issue 10) is answered by the complete
# reference index (agent/apply/refindex.py, A-44) for an order no document of ours carries. A new customer adds
# the look-up by match key and the create; a returning one whose details did not change needs no debtor call.
INVOICE_AND_PAYMENT = Counter({
    "get/debtor_invoice": 1, "put/debtor_invoice": 1, "insert_bulk/debtor_invoice_product": 1,
    "action/book_debtor_invoice": 1, "put/enclosure": 1, "insert_bulk/accounting": 1,
})  # fmt: skip
NEW_CUSTOMER = INVOICE_AND_PAYMENT + Counter({"get/debtor": 1, "put/debtor": 1})
RETURNING_CUSTOMER = INVOICE_AND_PAYMENT
LOOKUP = Counter({"get/debtor_invoice": 1})  # the real look-up by reference


def card_order(email: str) -> dict[str, Any]:
    """A paid card order (its payment is registered at booking) of one product, for ``email``."""
    payload = list(order_payloads(2, seed=5))[1]  # "dk-card-hoodie"
    payload["billing"]["email"] = email
    return payload


async def calls_for(s: Stack, clock: ManualClock, payload: dict[str, Any]) -> tuple[int, Counter[str]]:
    before = Counter(s.dyn.calls)
    order = await s.shop.create_order(payload)
    await drive(s, clock)
    return order.id, Counter(s.dyn.calls) - before


async def test_calls_per_order_for_a_new_and_a_returning_customer(stack: tuple[Stack, ManualClock]) -> None:
    s, clock = stack
    # The first order of a run also reads what is cached from then on: VAT codes, the payment draft, products.
    _, first = await calls_for(s, clock, card_order("first@example.dk"))
    assert first - NEW_CUSTOMER == Counter({"get/vatcode": 1, "get/draft": 1, "get/product": 1}), first
    _, new = await calls_for(s, clock, card_order("new@example.dk"))
    assert new == NEW_CUSTOMER, new
    order_id, returning = await calls_for(s, clock, card_order("new@example.dk"))
    assert returning == RETURNING_CUSTOMER, returning
    assert sum(returning.values()) <= 7 and sum(new.values()) <= 8
    # A finished order re-opened (the sweep's overlap window, a late delivery) makes no call at all.
    before = Counter(s.dyn.calls)
    assert await s.app[JOURNAL].hint_work(f"order:{order_id}", fingerprint=CHANGED)
    assert await drive(s, clock) == 1
    assert Counter(s.dyn.calls) - before == Counter()
    invoices = [r for r in s.dyn.store.tables["debtor_invoice"].values() if r["is_booked"]]
    assert len(invoices) == 3 and len({r["requisition"] for r in invoices}) == 3


async def test_a_registered_customer_numbered_by_customer_id_costs_one_debtor_call(make_stack: Any) -> None:
    """With ``numbering = "customer_id_offset"`` a registered customer's number is known: no look-up by match
    key, the debtor is created in one call (8 for the order); an existing row of that number is updated."""
    clock, ctx = make_stack(debtors={"numbering": "customer_id_offset", "customer_id_offset": 100000})
    async with ctx as s:
        await calls_for(s, clock, card_order("first@example.dk"))  # the one-time reads
        _, new = await calls_for(s, clock, {**card_order("reg@example.dk"), "customer_id": 7})
        assert new == INVOICE_AND_PAYMENT + Counter({"put/debtor": 1}), new
        assert sum(new.values()) == 7
        debtor = s.dyn.store.find("debtor", "module_id_", "100007")
        assert debtor is not None and debtor["email"] == "reg@example.dk"
        # A debtor with the number already there (made by hand, or the journal lost): refused, then updated.
        await s.services.dyn.put("debtor", {"module_id_": "100008", "name": "Hand made", "module_group_name": "B2C"})
        _, known = await calls_for(s, clock, {**card_order("other@example.dk"), "customer_id": 8})
        assert known - INVOICE_AND_PAYMENT == Counter({"put/debtor": 2, "get/debtor": 1}), known
        rows = [d for d in s.dyn.store.tables["debtor"].values() if d["module_id_"] == "100008"]
        assert len(rows) == 1 and rows[0]["email"] == "other@example.dk"


async def test_until_the_index_is_complete_every_order_looks_up_its_reference(make_stack: Any) -> None:
    """While the reference index loads (or after it failed to) the look-up by reference is made, as before."""
    clock, ctx = make_stack(load_references=False)
    async with ctx as s:
        await calls_for(s, clock, card_order("first@example.dk"))
        _, new = await calls_for(s, clock, card_order("new@example.dk"))
        assert new == NEW_CUSTOMER + LOOKUP, new
        _, returning = await calls_for(s, clock, card_order("new@example.dk"))
        assert returning == RETURNING_CUSTOMER + LOOKUP, returning
        references = s.services.references
        assert references is not None and not references.complete
        await references.load()  # complete from here on: the look-up is skipped for the next new order
        _, after = await calls_for(s, clock, card_order("later@example.dk"))
        assert after == NEW_CUSTOMER, after
        invoices = [r for r in s.dyn.store.tables["debtor_invoice"].values() if r["is_booked"]]
        assert len(invoices) == 4 and len({r["requisition"] for r in invoices}) == 4
