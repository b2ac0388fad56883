"""Each cache of what does not change per order is dropped when Dynaccount refuses it (issue 17): a debtor
deleted in Dynaccount is created again, a VAT code renamed is read again, a product removed is made again —
with no duplicate documents. The human's change is made through the API, over HTTP, as any client would."""

from __future__ import annotations

from collections import Counter
from typing import Any

from agent.app import JOURNAL
from agent.clock import ManualClock
from agent.journal import CHANGED
from agent.sandbox.demo import Stack

from .conftest import drive  # type: ignore[import-not-found]
from .test_calls_per_order import card_order  # type: ignore[import-not-found]


def invoices_of(s: Stack, order_id: int) -> list[dict[str, Any]]:
    return [r for r in s.dyn.store.tables["debtor_invoice"].values() if r["requisition"] == f"{s.config.shop.name}/order-{order_id}"]


def assert_one_booked_invoice_each(s: Stack, *order_ids: int) -> None:
    """One invoice per order, booked, with lines; and no header anywhere without its lines."""
    for order_id in order_ids:
        [invoice] = invoices_of(s, order_id)
        assert invoice["is_booked"], invoice
    lines = s.dyn.store.tables["debtor_invoice_product"].values()
    assert all(any(li["invoice_id"] == inv for li in lines) for inv in s.dyn.store.tables["debtor_invoice"])


async def place(s: Stack, clock: ManualClock, email: str) -> int:
    order = await s.shop.create_order(card_order(email))
    await drive(s, clock)
    return order.id


async def test_a_debtor_deleted_in_dynaccount_is_created_again(stack: tuple[Stack, ManualClock]) -> None:
    s, clock = stack
    first = await place(s, clock, "hanne@example.dk")
    number = invoices_of(s, first)[0]["module_id_"]
    debtor = s.dyn.store.find("debtor", "module_id_", number)
    assert debtor is not None
    await s.services.dyn.delete("debtor", debtor["id"])  # the bookkeeper removes it
    assert s.dyn.store.find("debtor", "module_id_", number) is None
    second = await place(s, clock, "hanne@example.dk")  # the journal still knows her number: refused, then made
    again = s.dyn.store.find("debtor", "module_id_", number)
    assert again is not None and again["email"] == "hanne@example.dk"
    assert invoices_of(s, second)[0]["module_id_"] == number
    assert_one_booked_invoice_each(s, first, second)
    assert len([d for d in s.dyn.store.tables["debtor"].values() if d["email"] == "hanne@example.dk"]) == 1
    # The journal knows the new row: the next order of hers needs no debtor call.
    before = Counter(s.dyn.calls)
    third = await place(s, clock, "hanne@example.dk")
    assert not {k for k in Counter(s.dyn.calls) - before if k.endswith("/debtor")}
    assert_one_booked_invoice_each(s, first, second, third)


async def test_a_product_removed_in_dynaccount_is_created_again(stack: tuple[Stack, ManualClock]) -> None:
    s, clock = stack
    first = await place(s, clock, "ole@example.dk")
    sku = next(li["product_id_"] for li in s.dyn.store.tables["debtor_invoice_product"].values()
               if li["invoice_id"] == invoices_of(s, first)[0]["id"] and li["product_id_"])  # fmt: skip
    product = s.dyn.store.find("product", "product_id_", sku)
    assert product is not None
    await s.services.dyn.delete("product", product["id"])
    before = Counter(s.dyn.calls)
    second = await place(s, clock, "ole@example.dk")
    calls = Counter(s.dyn.calls) - before
    assert s.dyn.store.find("product", "product_id_", sku) is not None
    assert calls["put/product"] == 1, calls  # made again, once
    assert_one_booked_invoice_each(s, first, second)
    before = Counter(s.dyn.calls)
    third = await place(s, clock, "ole@example.dk")
    assert not {k for k in Counter(s.dyn.calls) - before if k.endswith("/product")}  # cached again
    assert_one_booked_invoice_each(s, first, second, third)


async def test_a_vat_code_renamed_in_dynaccount_is_read_again(stack: tuple[Stack, ManualClock]) -> None:
    s, clock = stack
    first = await place(s, clock, "kim@example.dk")
    code = s.dyn.store.find("vatcode", "name", "K25")
    assert code is not None
    await s.services.dyn.put("vatcode", {"name": "S25"}, code["id"])  # renamed by the bookkeeper
    reads = s.dyn.calls["get/vatcode"]
    order = await s.shop.create_order(card_order("kim@example.dk"))
    await drive(s, clock)
    # The lines on K25 were refused: the codes were read again, and the order is held (never booked on
    # another code), its refused draft gone.
    assert s.dyn.calls["get/vatcode"] > reads
    item = await s.app[JOURNAL].get_work(f"order:{order.id}")
    assert item is not None and item.state == "held", item
    assert "K25" in (item.reason or item.error or ""), item
    assert invoices_of(s, order.id) == []
    # Named back: the next run reads the codes once more (K25 unknown to the cache) and books.
    await s.services.dyn.put("vatcode", {"name": "K25"}, code["id"])
    assert await s.app[JOURNAL].hint_work(f"order:{order.id}", fingerprint=CHANGED)
    await drive(s, clock)
    assert_one_booked_invoice_each(s, first, order.id)


async def test_a_payment_draft_made_again_in_dynaccount_is_read_again(stack: tuple[Stack, ManualClock]) -> None:
    s, clock = stack
    first = await place(s, clock, "lis@example.dk")
    draft = s.dyn.store.find("draft", "name", "Webshop")
    assert draft is not None
    await s.services.dyn.delete("draft", draft["id"])  # the bookkeeper replaces the draft
    await s.services.dyn.put("draft", {"name": "Webshop"})
    reads = s.dyn.calls["get/draft"]
    second = await place(s, clock, "lis@example.dk")
    assert s.dyn.calls["get/draft"] == reads + 1  # the cached id was refused, the draft read once more
    new_draft = s.dyn.store.find("draft", "name", "Webshop")
    assert new_draft is not None
    vouchers = [e for e in s.dyn.store.tables["enclosure"].values() if e["txt"] == f"{s.config.shop.name}/order-{second}-payment"]
    assert len(vouchers) == 1 and vouchers[0]["draft_id"] == new_draft["id"]
    assert_one_booked_invoice_each(s, first, second)
