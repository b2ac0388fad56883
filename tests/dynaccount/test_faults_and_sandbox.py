"""Commit-then-fail and the other faults, the inspection API, persistence, the CLI parser."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

import aiohttp
import pytest

from agent.dynaccount import rules
from agent.dynaccount.client import DynaccountClient
from agent.dynaccount.errors import DynaccountConnectionError
from agent.sandbox.dynaccount.server import (
    SandboxConfig,
    SandboxHandle,
    build_parser,
    config_from_args,
    running_sandbox,
)

from .conftest import API_ID, API_KEY, API_SECRET, header, lines, make_debtor

D = Decimal


async def test_commit_then_fail_lookup_finds_the_invoice(client: DynaccountClient, sandbox: SandboxHandle) -> None:
    """The header put is applied but its response lost: a naive retry would duplicate it; the
    lookup by reference finds the document the lost response created."""
    await make_debtor(client)
    sandbox.faults.force("commit_then_fail", method="put", name="debtor_invoice")
    with pytest.raises(DynaccountConnectionError) as info:
        await client.create_invoice(header(), lines(), "woo/order-17")
    assert info.value.maybe_committed
    found = await client.find_invoice_by_reference("woo/order-17")
    assert found is not None and not found.is_booked and found.lines == []  # header only
    fixed = await client.replace_invoice_lines(found.id, header(), lines())
    assert fixed.total_amount == D("427.05")
    assert len(await client.find_invoices_by_reference("woo/order-17")) == 1
    assert sandbox.faults.injected["commit_then_fail"] == 1


async def test_commit_then_fail_on_lines_and_booking(client: DynaccountClient, sandbox: SandboxHandle) -> None:
    await make_debtor(client)
    sandbox.faults.force("commit_then_fail", method="insert_bulk")
    with pytest.raises(DynaccountConnectionError):
        await client.create_invoice(header(), lines(), "woo/order-30")
    found = await client.find_invoice_by_reference("woo/order-30")
    assert found is not None and len(found.lines) == 3  # whole invoice exists
    sandbox.faults.force("commit_then_fail", method="action")
    with pytest.raises(DynaccountConnectionError):
        await client.book_invoice(found.id)
    booked = await client.find_invoice_by_reference("woo/order-30")
    assert booked is not None and booked.is_booked and booked.number == 1001
    assert (await client.book_invoice(found.id)).number == 1001  # re-booking is harmless
    assert (await client.find_product("KRUS-001")).in_stock == 38  # type: ignore[union-attr]  # moved once


async def test_commit_then_fail_on_payment_leaves_findable_voucher(
    client: DynaccountClient, sandbox: SandboxHandle
) -> None:
    await make_debtor(client)
    invoice = await client.book_invoice((await client.create_invoice(header(), lines(), "woo/order-31")).id)
    sandbox.faults.force("commit_then_fail", method="put", name="enclosure")
    with pytest.raises(DynaccountConnectionError):
        await client.register_payment(invoice, invoice.total_amount, 0, "woo-payment-31", bank_account="5820")
    partial = await client.find_payment_by_reference("woo-payment-31")
    assert partial is not None and not partial.complete
    await client.delete_payment(partial.enclosure_id)
    done = await client.register_payment(invoice, invoice.total_amount, 0, "woo-payment-31", bank_account="5820")
    assert done.complete and await client.find_payment_by_reference("woo-payment-31") == done


async def test_random_faults_are_seeded_and_counted(sandbox: SandboxHandle, client: DynaccountClient) -> None:
    sandbox.faults.config.update({"error_5xx": 0.5, "seed": 3})
    sandbox.faults.reseed()
    outcomes = []
    for _ in range(20):
        try:
            await client.get("vatcode", select=["id"], limit=(0, 1))
            outcomes.append(True)
        except Exception:
            outcomes.append(False)
    assert 3 < outcomes.count(False) < 17
    assert sandbox.faults.injected["5xx"] == outcomes.count(False)


async def test_latency_injection(sandbox: SandboxHandle, client: DynaccountClient) -> None:
    sandbox.faults.config.latency_ms = 50
    started = time.perf_counter()
    await client.get("vatcode", limit=(0, 1))
    assert time.perf_counter() - started >= 0.05


async def test_inspection_api(sandbox: SandboxHandle, client: DynaccountClient, session: aiohttp.ClientSession) -> None:
    base = sandbox.base_url + "/_sandbox"
    async with session.post(base + "/products", json=[{"product_id_": "HOODIE-L", "name": "Hættetrøje",
                                                       "price": "399.20", "in_stock": 5}]) as resp:  # fmt: skip
        assert resp.status == 200
    async with session.post(base + "/stock", json={"HOODIE-L": "12", "KRUS-001": 7}) as resp:
        assert resp.status == 200
    async with session.get(base + "/stock") as resp:
        stock = {r["product_id_"]: r["in_stock"] for r in await resp.json()}
    assert stock["HOODIE-L"] == "12" and stock["KRUS-001"] == "7"
    assert (await client.find_product("HOODIE-L")).in_stock == 12  # type: ignore[union-attr]
    await make_debtor(client)
    await client.create_invoice(header(), lines(), "woo/order-40")
    async with session.get(base + "/documents") as resp:
        view = await resp.json()
    assert view["invoices"][0]["requisition"] == "woo/order-40" and view["invoices"][0]["total_amount"] == "427.05"
    assert len(view["invoices"][0]["lines"]) == 3
    async with session.post(base + "/faults", json={"force": [{"kind": "5xx", "method": "get"}]}) as resp:
        assert (await resp.json())["forced"][0]["kind"] == "5xx"
    async with session.post(base + "/faults", json={"config": {"colour": 1}}) as resp:
        assert resp.status == 400
    async with session.post(base + "/faults", json={"clear": True}) as resp:
        assert (await resp.json())["forced"] == []


async def test_sqlite_persistence_survives_restart(tmp_path: Path, session: aiohttp.ClientSession) -> None:
    config = SandboxConfig(api_id=API_ID, api_key=API_KEY, api_secret=API_SECRET, sqlite_path=tmp_path / "d.db")
    for attempt in range(2):
        async with running_sandbox(config) as sandbox:
            client = DynaccountClient(session, base_url=sandbox.base_url, api_id=API_ID, api_key=API_KEY,
                                      api_secret=API_SECRET)  # fmt: skip
            if attempt == 0:
                await make_debtor(client)
                await client.book_invoice((await client.create_invoice(header(), lines(), "woo/order-50")).id)
            else:
                found = await client.find_invoice_by_reference("woo/order-50")
                assert found is not None and found.number == 1001 and found.total_amount == D("427.05")
                assert (await client.find_product("KRUS-001")).in_stock == 38  # type: ignore[union-attr]


def test_cli_arguments_map_to_config() -> None:
    args = build_parser().parse_args(
        ["--port", "0", "--api-id", "9", "--api-key", "k", "--api-secret", "s", "--fault-5xx", "0.2",
         "--fault-commit-then-fail", "0.05", "--fault-drop", "0.02", "--fault-429", "0.1", "--latency-ms", "20"]
    )  # fmt: skip
    config = config_from_args(args)
    assert (config.api_id, config.api_key, config.api_secret) == ("9", "k", "s")
    f = config.faults
    assert (f.error_5xx, f.commit_then_fail, f.drop, f.rate_429, f.latency_ms) == (0.2, 0.05, 0.02, 0.1, 20)


@pytest.mark.parametrize(
    ("net", "rate", "vat"),
    [
        (D("0.02"), D(25), D("0.01")),  # 0.005 rounds up
        (D("0.01"), D(25), D("0.00")),
        (D("143.28"), D(25), D("35.82")),
        (D("10.10"), D("25.5"), D("2.58")),  # 2.5755
        (D("-0.02"), D(25), D("-0.01")),  # half away from zero
        (D("99.99"), D(0), D("0.00")),
    ],
)
def test_line_vat_half_up(net: Decimal, rate: Decimal, vat: Decimal) -> None:
    assert rules.line_vat(net, rate) == vat


def test_document_totals_sum_rounded_lines() -> None:
    lines_ = [rules.line_amounts(D(1), D("0.02"), D(25)) for _ in range(3)]
    totals = rules.document_totals(lines_)
    assert (totals.net_amount, totals.vat_amount, totals.total_amount) == (D("0.06"), D("0.03"), D("0.09"))
    assert rules.line_net(D(3), D("33.33"), D("12.5")) == D("87.49")  # 87.49125


async def test_dimension_and_reference_length_are_validated(client: DynaccountClient, sandbox: SandboxHandle) -> None:
    """Issue 19: a shop's dimension must exist (spec §4: referenced by name); A-39: a reference longer
    than the column is refused, never cut."""
    from agent.dynaccount import assumptions as A
    from agent.dynaccount.errors import DynaccountRejected

    await make_debtor(client)
    with pytest.raises(DynaccountRejected) as unknown:
        await client.create_invoice(header().model_copy(update={"dimension_name": "NOPE"}), lines(), "shop-dk/order-1")
    assert "dimension" in unknown.value.field_errors.get("dimension_name", "")
    with pytest.raises(DynaccountRejected) as long:
        await client.create_invoice(header(), lines(), "x" * (A.REFERENCE_MAX_LENGTH + 1))
    assert "longer than" in long.value.field_errors.get("requisition", "")
    invoice = await client.create_invoice(header().model_copy(update={"dimension_name": "WEB-DK"}), lines(),
                                          "s" * 8 + "/" + "9" * (A.REFERENCE_MAX_LENGTH - 9))  # fmt: skip
    assert sandbox.store.row("debtor_invoice", invoice.id)["dimension_name"] == "WEB-DK"
    booked = await client.book_invoice(invoice.id)
    with pytest.raises(DynaccountRejected) as note:
        await client.create_creditnote(booked.id, [], "shop-dk/refund-1", dimension="NOPE")
    assert "dimension" in note.value.field_errors.get("dimension_name", "")
