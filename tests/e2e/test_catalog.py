"""Products and customers synced on their own (issue 15), over real HTTP against both sandboxes.

The shop is driven over its REST API exactly as an owner would (POST/PUT/DELETE products, variations and
customers); the sandbox fires WooCommerce's webhooks with WooCommerce's payloads into the agent. "No call" is
checked by the Dynaccount sandbox's own count of successful writes per table, not by the agent's say-so.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest

from agent.app import JOURNAL
from agent.clock import ManualClock
from agent.sandbox.demo import Stack
from agent.sandbox.woo.seed import TAX_RATES
from agent.sandbox.woo.taxes import find_rates, inclusive_taxes

from .conftest import drive  # type: ignore[import-not-found]

D = Decimal
ON = {"products": {"on_shop_events": True, "sync": "create_and_update",
                   "group_by_category": {"kaffe": "Kaffe", "tax:zero-rate": "Aviser"}},
      "debtors": {"update_existing": True, "create_on_customer_event": True}}  # fmt: skip


def puts(s: Stack, table: str = "product") -> int:
    return s.dyn.stats.get(f"put {table}", 0)


def dyn_product(s: Stack, sku: str) -> dict[str, Any] | None:
    return s.dyn.store.find("product", "product_id_", sku)


async def settle(s: Stack, clock: ManualClock) -> None:
    await s.woo.flush()
    await drive(s, clock)


async def item(s: Stack, key: str) -> Any:
    found = await s.app[JOURNAL].get_work(key)
    assert found is not None, key
    return found


@pytest.fixture
async def cat(make_stack: Callable[..., Any]) -> AsyncIterator[tuple[Stack, ManualClock]]:
    clock, ctx = make_stack(**ON)
    async with ctx as s:
        for group in ("Kaffe", "Aviser"):
            s.dyn.store.insert("product_group", {"name": group, "is_stocked": True, "account_id_": "1010"})
        yield s, clock


async def test_webhooks_registered_while_sync_is_on(cat: tuple[Stack, ManualClock]) -> None:
    s, _ = cat
    topics = {w.topic for w in s.woo.dispatcher.webhooks.values() if w.status == "active"}
    assert {"product.created", "product.updated", "product.deleted", "customer.created",
            "customer.updated"} <= topics  # fmt: skip


async def test_webhooks_not_registered_while_off(make_stack: Callable[..., Any]) -> None:
    _, ctx = make_stack()
    async with ctx as s:
        topics = {w.topic for w in s.woo.dispatcher.webhooks.values()}
        assert not topics & {"product.created", "product.deleted", "customer.created", "customer.updated"}


async def test_create_update_and_unchanged_makes_no_call(cat: tuple[Stack, ManualClock]) -> None:
    s, clock = cat
    made = await s.shop.request("POST", "products", json={
        "name": "Kaffe Mørk", "sku": "KAFFE-100", "regular_price": "125.00", "categories": [{"id": 20}],
        "weight": "0.5", "short_description": "<p>Mørkristet</p>"})  # fmt: skip
    await settle(s, clock)
    row = dyn_product(s, "KAFFE-100")
    assert row is not None and (await item(s, f"product:{made['id']}")).state == "done"
    assert (row["name"], row["price"], row["product_group_name"], row["unit_name"], row["weight"], row["txt"]) == (
        "Kaffe Mørk", D("100.00"), "Kaffe", "stk", D("0.5"), "Mørkristet")  # 125 incl. 25 % DK moms
    assert puts(s) == 1

    await s.shop.request("PUT", f"products/{made['id']}", json={"name": "Kaffe Mørk 500 g", "regular_price": "150"})
    await settle(s, clock)
    row = dyn_product(s, "KAFFE-100")
    assert row is not None and (row["name"], row["price"]) == ("Kaffe Mørk 500 g", D("120.00")) and puts(s) == 2
    assert "updated: name, price" in ((await item(s, f"product:{made['id']}")).reason or "")

    await s.shop.request("PUT", f"products/{made['id']}", json={"manage_stock": True, "stock_quantity": 3})  # not held
    await settle(s, clock)
    assert puts(s) == 2
    assert "no call" in ((await item(s, f"product:{made['id']}")).reason or "")


def woo_net(gross: Decimal, country: str, tax_class: str) -> Decimal:
    """WooCommerce's own arithmetic (the sandbox checkout's): the net of an inclusive price at the base rates."""
    taxes = inclusive_taxes(gross, find_rates(TAX_RATES, country, tax_class))
    return (gross - sum(taxes.values(), D(0))).quantize(D("0.01"), rounding=ROUND_HALF_UP)


@pytest.mark.parametrize("include", [True, False])
@pytest.mark.parametrize("country", ["DK", "DE"])
async def test_prices_excl_vat_under_both_settings_and_three_classes(
        make_stack: Callable[..., Any], include: bool, country: str) -> None:  # fmt: skip
    clock, ctx = make_stack(**ON)
    async with ctx as s:
        s.dyn.store.insert("product_group", {"name": "Aviser", "is_stocked": True, "account_id_": "1010"})
        s.woo.state.settings = replace(s.woo.state.settings, prices_include_tax=include, base_country=country)
        for cls in ("", "reduced-rate", "zero-rate"):
            await s.shop.request("POST", "products", json={"name": f"P {cls}", "sku": f"P-{cls or 'std'}",
                                                           "regular_price": "99.99", "tax_class": cls})  # fmt: skip
        await settle(s, clock)
        got = {cls: dyn_product(s, f"P-{cls or 'std'}")["price"] for cls in ("", "reduced-rate", "zero-rate")}  # type: ignore[index]
        want = {cls: woo_net(D("99.99"), country, cls) if include else D("99.99")
                for cls in ("", "reduced-rate", "zero-rate")}  # fmt: skip
        assert got == want
        if include and country == "DE":  # 19 %, 7 %, and no DE zero rate: three different nets
            assert want == {"": D("84.03"), "reduced-rate": D("93.45"), "zero-rate": D("99.99")}
        assert dyn_product(s, "P-zero-rate")["product_group_name"] == "Aviser"  # type: ignore[index]


async def test_variations_become_products_of_their_own_sku(cat: tuple[Stack, ManualClock]) -> None:
    s, clock = cat
    parent = await s.shop.request("POST", "products", json={"name": "Forklæde", "type": "variable", "sku": "APRON",
                                                            "categories": [{"id": 21}]})  # fmt: skip
    for size, price in (("S", "200.00"), ("M", "250.00")):
        await s.shop.request("POST", f"products/{parent['id']}/variations", json={
            "sku": f"APRON-{size}", "regular_price": price, "attributes": [{"name": "Størrelse", "option": size}]})
    await settle(s, clock)
    assert dyn_product(s, "APRON") is None  # the parent is no product of its own
    s_row, m_row = dyn_product(s, "APRON-S"), dyn_product(s, "APRON-M")
    assert s_row is not None and m_row is not None
    assert (s_row["name"], s_row["price"], m_row["price"]) == ("Forklæde - S", D("160.00"), D("200.00"))
    before = puts(s)
    [var_s, _] = s.woo.state.items[parent["id"]].variations
    await s.shop.request("PUT", f"products/{parent['id']}/variations/{var_s}", json={"regular_price": "225.00"})
    await settle(s, clock)
    assert dyn_product(s, "APRON-S")["price"] == D("180.00") and puts(s) == before + 1  # type: ignore[index]


async def test_no_sku_is_reported_not_skipped(cat: tuple[Stack, ManualClock]) -> None:
    s, clock = cat
    await s.shop.request("PUT", "products/104", json={"name": "Klistermærke stor"})  # seeded without SKU
    await settle(s, clock)
    work = await item(s, "product:104")
    assert work.state == "held" and "no SKU" in (work.reason or "")
    await s.shop.request("PUT", "products/104", json={"sku": "KLISTER-1"})  # the owner fixes it: re-opened
    await settle(s, clock)
    assert (await item(s, "product:104")).state == "done" and dyn_product(s, "KLISTER-1") is not None


async def test_no_sku_numbered_by_rule(make_stack: Callable[..., Any]) -> None:
    clock, ctx = make_stack(products={**ON["products"], "no_sku": "WOO-{id}", "group_by_category": {}})
    async with ctx as s:
        await s.shop.request("PUT", "products/104", json={"name": "Klistermærke stor"})
        await settle(s, clock)
        assert dyn_product(s, "WOO-104")["name"] == "Klistermærke stor"  # type: ignore[index]


async def test_delete_never_deletes_in_dynaccount(cat: tuple[Stack, ManualClock]) -> None:
    s, clock = cat
    made = await s.shop.request("POST", "products", json={"name": "Kop", "sku": "KOP-9", "regular_price": "50"})
    await settle(s, clock)
    await s.shop.request("DELETE", f"products/{made['id']}")
    await settle(s, clock)
    work = await item(s, f"product:{made['id']}")
    assert dyn_product(s, "KOP-9") is not None and "never deletes" in (work.reason or "")


async def test_duplicate_sku_in_shop_is_held(cat: tuple[Stack, ManualClock]) -> None:
    s, clock = cat
    # The shop's own form refuses it; imports and plugins do not. The second item gets the first one's SKU.
    s.woo.state.items[12].product = replace(s.woo.state.items[12].product, sku="KRUS-001")
    await s.shop.request("PUT", "products/12", json={"name": "Gaveindpakning rød"})
    await settle(s, clock)
    work = await item(s, "product:12")
    assert work.state == "held" and "KRUS-001 is on 2 shop items (11, 12)" in (work.reason or "")


async def test_customer_created_then_updated_then_unchanged(cat: tuple[Stack, ManualClock]) -> None:
    s, clock = cat
    made = await s.shop.request("POST", "customers", json={
        "email": "ole@example.dk", "first_name": "Ole", "last_name": "Berg",
        "billing": {"first_name": "Ole", "last_name": "Berg", "address_1": "Vej 1", "city": "Odense C",
                    "postcode": "5000", "country": "DK", "email": "ole@example.dk"}})  # fmt: skip
    await settle(s, clock)
    [debtor] = s.dyn.store.where("debtor", "email", "ole@example.dk")
    assert (debtor["name"], debtor["address"], debtor["lang"]) == ("Ole Berg", "Vej 1", "da")
    await s.shop.request("PUT", f"customers/{made['id']}", json={"billing": {"address_1": "Gade 2"}})
    await settle(s, clock)
    [debtor] = s.dyn.store.where("debtor", "email", "ole@example.dk")
    assert debtor["address"] == "Gade 2" and "updated" in ((await item(s, f"customer:{made['id']}")).reason or "")
    before = puts(s, "debtor")
    await s.shop.request("PUT", f"customers/{made['id']}", json={"first_name": "Ole"})  # nothing Dynaccount holds
    await settle(s, clock)
    assert puts(s, "debtor") == before


async def test_customer_update_only_when_configured(make_stack: Callable[..., Any]) -> None:
    clock, ctx = make_stack(debtors={"update_existing": False, "create_on_customer_event": True})
    async with ctx as s:
        s.dyn.store.insert("debtor", {"module_id_": "20001", "name": "Mette", "email": "mette.hansen@example.dk",
                                      "module_group_name": "B2C"})  # fmt: skip
        await s.shop.request("PUT", "customers/2", json={"billing": {"address_1": "Ny vej 3"}})
        await settle(s, clock)
        assert puts(s, "debtor") == 0
        assert "update_existing = false" in ((await item(s, "customer:2")).reason or "")


async def test_customer_matching_two_debtors_is_held(cat: tuple[Stack, ManualClock]) -> None:
    s, clock = cat
    for number in ("20001", "20002"):
        s.dyn.store.insert("debtor", {"module_id_": number, "name": "Mette", "email": "mette.hansen@example.dk",
                                      "module_group_name": "B2C"})  # fmt: skip
    await s.shop.request("PUT", "customers/2", json={"billing": {"address_1": "Ny vej 3"}})
    await settle(s, clock)
    work = await item(s, "customer:2")
    assert work.state == "held" and "20001, 20002" in (work.reason or "") and puts(s, "debtor") == 0


async def test_customer_with_bad_vat_number_is_held(cat: tuple[Stack, ManualClock]) -> None:
    s, clock = cat
    await s.shop.request("PUT", "customers/3", json={"meta_data": [{"key": "_billing_vat_number",
                                                                     "value": "12-34-56"}]})  # fmt: skip
    await settle(s, clock)
    work = await item(s, "customer:3")
    assert work.state == "held" and "12-34-56" in (work.reason or "") and puts(s, "debtor") == 0


async def test_stock_echo_is_no_product_work(cat: tuple[Stack, ManualClock]) -> None:
    """The agent's own stock write saves the product; its product.updated is ignored at intake, so it never
    reaches the catalog sync (stock is on in the demo stack)."""
    from agent.sandbox.dynaccount.seed import set_stock
    from agent.web.stock import STOCK

    s, clock = cat
    await settle(s, clock)
    if dyn_product(s, "KRUS-001") is None:
        pytest.skip("the seeded Dynaccount has no KRUS-001")
    set_stock(s.dyn.store, "KRUS-001", D(41))
    before = await s.app[JOURNAL].get_work("product:11")
    await s.app[STOCK].sync(reason="test")
    await s.woo.flush()
    assert s.woo.stock(11) == 41
    after = await s.app[JOURNAL].get_work("product:11")
    assert (before.generation if before else None) == (after.generation if after else None)


async def test_demo_part_shows_products_and_customers_arrive(cat: tuple[Stack, ManualClock]) -> None:
    from agent.sandbox.demo_catalog import shop_owner_edits

    s, clock = cat
    verdict = await shop_owner_edits(s, lambda: settle(s, clock))
    assert verdict.ok, verdict.wrong
    assert "product BONNE-ETH: 127.20" in verdict.rows[0]  # 159.00 incl. 25 % (DK reduced-rate class is 25 %)


async def test_catalog_webhooks_are_healed_like_the_order_webhooks(cat: tuple[Stack, ManualClock]) -> None:
    s, _ = cat
    for wh in s.woo.dispatcher.webhooks.values():
        if wh.topic in ("product.created", "customer.updated"):
            wh.status = "disabled"  # WooCommerce disables a webhook after repeated delivery failures
    await s.services.sweep.heal_webhooks()
    status = {w.topic: w.status for w in s.woo.dispatcher.webhooks.values()}
    assert status["product.created"] == "active" and status["customer.updated"] == "active"
