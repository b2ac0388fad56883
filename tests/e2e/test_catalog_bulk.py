"""``sync products|customers``: a whole shop, paged, counted, resumable — over real HTTP (issue 15).

2,000 shop products (1,800 simple, 200 variable with 3 variations each: 2,400 Dynaccount products) and 1,000
customers. Writes are counted by the Dynaccount sandbox itself.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

import pytest

from agent.catalog.bulk import BulkSync
from agent.sandbox.demo import Stack
from agent.sandbox.woo.seed import CatalogueItem
from agent.sandbox.woo.shop import Product
from agent.sandbox.woo.state import Customer

D = Decimal
ON = {"products": {"on_shop_events": True, "sync": "create_and_update"},
      "debtors": {"update_existing": True, "create_on_customer_event": True}}  # fmt: skip
SIMPLE, VARIABLE, PER = 1800, 200, 3


class Interrupted(Exception):
    pass


def big_catalogue() -> dict[int, CatalogueItem]:
    items: dict[int, CatalogueItem] = {}
    classes = ("", "reduced-rate", "zero-rate")
    for n in range(SIMPLE):
        pid = 1000 + n
        items[pid] = CatalogueItem(Product(pid, f"Vare {n}", D(100 + n % 50), f"B-{n:05d}",
                                           tax_class=classes[n % 3]), weight="0.25")  # fmt: skip
    pid = 1000 + SIMPLE
    for n in range(VARIABLE):
        parent = CatalogueItem(Product(pid, f"Model {n}", D(0), f"M-{n:04d}"), type="variable")
        items[pid] = parent
        for k in range(PER):
            vid = 10000 + n * PER + k
            parent.variations.append(vid)
            items[vid] = CatalogueItem(Product(vid, f"Model {n} - {k}", D(200 + k), f"M-{n:04d}-{k}",
                                               parent_id=pid, parent_name=f"Model {n}",
                                               attributes=(("size", "Size", str(k)),)), type="variation")  # fmt: skip
        pid += 1
    return items


def customers(count: int) -> dict[int, Customer]:
    out = {}
    for n in range(count):
        cid = 500 + n
        email = f"kunde{n}@example.dk"
        billing = {"first_name": "Kunde", "last_name": str(n), "company": "", "address_1": f"Vej {n}",
                   "address_2": "", "city": "Odense", "state": "", "postcode": "5000", "country": "DK",
                   "email": email, "phone": ""}  # fmt: skip
        out[cid] = Customer(cid, email, "Kunde", str(n), billing)
    return out


@pytest.fixture
async def big(make_stack: Callable[..., Any]) -> AsyncIterator[tuple[Stack, BulkSync]]:
    _clock, ctx = make_stack(**ON)
    async with ctx as s:
        s.woo.state.items = big_catalogue()
        s.woo.state.customers = customers(1000)
        assert s.services.catalog is not None
        yield s, s.services.catalog.bulk


def puts(s: Stack, table: str) -> int:
    return s.dyn.stats.get(f"put {table}", 0)


async def test_products_counts_resume_and_second_run_writes_nothing(big: tuple[Stack, BulkSync]) -> None:
    s, bulk = big
    total = SIMPLE + VARIABLE * PER

    def stop_at(cursor: int) -> None:
        if cursor == 1000 + 777:
            raise Interrupted

    bulk.on_item = stop_at
    with pytest.raises(Interrupted):
        await bulk.run("products", stream=io.StringIO())
    done_before = puts(s, "product")
    assert done_before == 778  # the simple products up to the one that was interrupted after its write

    bulk.on_item = None
    out = io.StringIO()
    summary = await bulk.run("products", stream=out)
    assert summary.resumed_from == 1000 + 777 and "778 done before" in out.getvalue()
    assert puts(s, "product") == total  # nothing done before was written again
    assert summary.counts["created"] == total and summary.counts["failed"] == 0
    assert len(s.dyn.store.where("product", "unit_name", "stk")) >= total

    again = await bulk.run("products", stream=io.StringIO())
    assert puts(s, "product") == total and again.counts["unchanged"] == total and again.resumed_from == 0


async def test_products_dry_run_writes_nothing_and_bad_items_are_reported(big: tuple[Stack, BulkSync]) -> None:
    s, bulk = big
    first = s.woo.state.items[1000]
    first.product = first.product.__class__(**{**first.product.__dict__, "sku": ""})  # no SKU
    dup = s.woo.state.items[1001]
    dup.product = dup.product.__class__(**{**dup.product.__dict__, "sku": "B-00002"})  # two items, one SKU
    summary = await bulk.run("products", dry_run=True, stream=io.StringIO())
    assert puts(s, "product") == 0
    assert summary.counts["failed"] == 2 and summary.counts["created"] == SIMPLE + VARIABLE * PER - 2
    assert any("no SKU" in f for f in summary.failures) and any("B-00002 is on two" in f for f in summary.failures)


async def test_customers_counts_and_second_run_writes_nothing(big: tuple[Stack, BulkSync]) -> None:
    s, bulk = big
    s.woo.state.customers[500].meta_data = [{"id": 1, "key": "_billing_vat_number", "value": "nope!"}]
    for number in ("30001", "30002"):  # kunde1's email on two debtors: which one is unclear
        s.dyn.store.insert("debtor", {"module_id_": number, "name": "K", "email": "kunde1@example.dk",
                                      "module_group_name": "B2C"})  # fmt: skip
    summary = await bulk.run("customers", stream=io.StringIO())
    assert summary.counts["created"] == 998 and summary.counts["failed"] == 2 and puts(s, "debtor") == 998
    assert any("30001, 30002" in f for f in summary.failures) and any("NOPE!" in f for f in summary.failures)
    again = await bulk.run("customers", stream=io.StringIO())
    assert puts(s, "debtor") == 998 and again.counts["unchanged"] == 998
