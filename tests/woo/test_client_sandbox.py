"""The REST client against the sandbox over real HTTP: auth modes, orders, refunds, pagination, errors."""

from __future__ import annotations

import shutil
from decimal import Decimal

import aiohttp
import pytest

from agent.sandbox.woo import running_woo_sandbox
from agent.woo.client import WooClient, basic_auth_header
from agent.woo.errors import WooAuthError, WooConnectionError, WooNotFound, WooRejected

from .conftest import CK, CS
from .helpers import CART_17, CART_19, key_paths, real_rest

D = Decimal


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": basic_auth_header(user, password)}


MONEY = ("discount_total", "discount_tax", "shipping_total", "shipping_tax", "cart_tax", "total", "total_tax")


async def test_order_17_over_oauth_matches_capture(client: WooClient) -> None:
    assert client.uses_oauth
    raw = await client.request("POST", "orders", json=CART_17)
    captured = real_rest("order-created-response.json")
    assert raw["id"] == 17  # same post-id sequence as the real shop
    assert key_paths(raw) == key_paths(captured)
    assert {k: str(raw[k]) for k in MONEY} == {k: captured[k] for k in MONEY}
    assert (str(raw["total"]), str(raw["total_tax"])) == ("428.80", "85.76")
    order = await client.get_order(17)
    assert order.total == D("428.80") and order.status == "pending"


async def test_life_cycle_stock_and_line_refund_like_the_capture(client: WooClient, sandbox) -> None:
    mug_before = sandbox.stock(11)
    order = await client.create_order(CART_17)
    await client.update_order(order.id, {"status": "processing"})
    done = await client.update_order(order.id, {"status": "completed"})
    assert done.status == "completed" and done.date_paid_gmt and done.date_completed_gmt
    assert sandbox.stock(11) == mug_before - 2
    mug = done.line_items[0]
    refund = await client.create_refund(order.id, {
        "amount": "89.10", "reason": "Kunden returnerede én kaffekrus",
        "line_items": [{"id": mug.id, "quantity": 1, "refund_total": "71.28",
                        "refund_tax": [{"id": 1, "refund_total": "17.82"}]}]})
    real = real_rest("refund-created-response.json")
    raw = await client.request("GET", f"orders/{order.id}/refunds/{refund.id}")
    assert key_paths(raw) == key_paths(real)
    assert refund.amount == D("89.10") and refund.line_items[0].total == D("-71.28")
    assert refund.tax_lines[0].tax_total == D("-17.82") and refund.refunded_item_id(refund.line_items[0]) == mug.id
    assert sandbox.stock(11) == mug_before - 1  # restocked
    after = await client.get_order(order.id)
    assert after.status == "completed" and after.refunds[0].total == D("-89.10") and after.total == D("428.80")
    assert [r.id for r in await client.list_all_refunds()] == [refund.id]


async def test_amount_only_and_full_refund_set_refunded(client: WooClient, sandbox) -> None:
    order = await client.create_order({**CART_19, "set_paid": True})
    assert order.status == "processing"
    partial = await client.create_refund(order.id, {"amount": "60.85"})
    assert partial.line_items == [] and partial.tax_lines == []
    rest = await client.create_refund(order.id, {"amount": "200.00"})
    assert (await client.get_order(order.id)).status == "refunded"
    assert [r.id for r in await client.list_refunds(order.id)] == [rest.id, partial.id]  # newest first
    with pytest.raises(WooRejected) as info:
        await client.create_refund(order.id, {"amount": "1.00"})
    assert info.value.status == 500 and info.value.code == "woocommerce_rest_cannot_create_order_refund"


async def test_cod_paid_goes_to_completed(client: WooClient) -> None:
    order = await client.create_order({**CART_19, "payment_method": "cod", "set_paid": True})
    assert order.status == "completed"


async def test_list_orders_paginates_and_filters(client: WooClient, sandbox) -> None:
    first = sandbox.create_order(CART_19)
    for _ in range(100):
        sandbox.state.create_order(CART_19)
    orders = await client.list_orders()
    assert len(orders) == 101
    raw = await client.request("GET", "orders", params={"per_page": 100, "page": 2})
    assert len(raw) == 1
    none_newer = await client.list_orders(modified_after=orders[0].date_modified_gmt)
    assert none_newer == []  # exclusive bound
    older = await client.list_orders(modified_after="2000-01-01T00:00:00", status="pending", orderby="id", order="asc")
    assert older[0].id == first["id"]
    with pytest.raises(WooRejected) as info:
        await client.request("GET", "orders", params={"per_page": 101})
    assert info.value.code == "rest_invalid_param" and "per_page" in info.value.params


async def test_catalogue_taxes_settings_customers(client: WooClient) -> None:
    variations = await client.list_variations(101)
    assert {v.manage_stock for v in variations} == {"parent"} and variations[0].stock_owner_id == 101
    found = await client.list_products(sku=["KRUS-001", "TSHIRT-S"])
    assert {p.id for p in found} == {11, 14}
    assert (await client.get_product(12)).manage_stock is False
    rates = {t.id: t for t in await client.list_taxes()}
    assert rates[1].rate == D("25.0000") and rates[2].name == "MwSt." and "NO" not in {t.country for t in rates.values()}
    assert await client.prices_include_tax() is True
    assert (await client.get_customer(2)).billing.country == "DK"


async def test_errors_are_mapped(client: WooClient, sandbox, session: aiohttp.ClientSession) -> None:
    with pytest.raises(WooNotFound):
        await client.get_order(999)
    with pytest.raises(WooRejected) as info:
        await client.create_order({"line_items": [{"product_id": 11}], "coupon_lines": [{"code": "nope"}]})
    assert info.value.code == "woocommerce_rest_invalid_coupon"
    bad = WooClient(session, base_url=sandbox.base_url, consumer_key=CK, consumer_secret="cs_wrong")
    with pytest.raises(WooAuthError) as auth:
        await bad.get_order(17)
    assert "cs_wrong" not in str(auth.value)
    anonymous = await session.get(f"{sandbox.base_url}wp-json/wc/v3/orders")
    assert anonymous.status == 401 and (await anonymous.json())["code"] == "woocommerce_rest_cannot_view"
    dead = WooClient(session, base_url="http://127.0.0.1:9/", consumer_key=CK, consumer_secret=CS, timeout=2)
    with pytest.raises(WooConnectionError):
        await dead.get_order(1)


async def test_oauth_nonce_replay_and_basic_refused_over_http(sandbox, session: aiohttp.ClientSession) -> None:
    from agent.woo import oauth
    url = f"{sandbox.base_url}wp-json/wc/v3/products/11"
    params = oauth.sign_params("GET", url, {}, CK, CS)
    assert (await session.get(url, params=params)).status == 200
    replay = await session.get(url, params=params)
    assert (await replay.json())["message"] == "Invalid nonce - nonce has already been used."
    refused = await session.get(url, headers=basic(CK, CS))
    assert refused.status == 401  # WooCommerce does not try Basic auth without HTTPS


async def test_basic_auth_behind_tls_terminating_proxy(session: aiohttp.ClientSession) -> None:
    async with running_woo_sandbox(CK, CS, trust_forwarded_proto=True) as shop:
        url = f"{shop.base_url}wp-json/wc/v3/products/11"
        ok = await session.get(url, headers={**basic(CK, CS), "X-Forwarded-Proto": "https"})
        assert ok.status == 200
        bad = await session.get(url, headers={**basic(CK, "nope"), "X-Forwarded-Proto": "https"})
        assert bad.status == 401 and bad.headers["WWW-Authenticate"].startswith("Basic realm=")


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command for a test certificate")
async def test_basic_auth_over_real_https(session: aiohttp.ClientSession) -> None:
    async with running_woo_sandbox(CK, CS, https=True) as shop:
        client = WooClient(session, base_url=shop.base_url, consumer_key=CK, consumer_secret=CS,
                           ca_file=shop.ca_file)
        assert not client.uses_oauth
        order = await client.create_order(CART_17)
        assert order.total == D("428.80")
        untrusted = WooClient(session, base_url=shop.base_url, consumer_key=CK, consumer_secret=CS)
        with pytest.raises(WooConnectionError):
            await untrusted.get_order(order.id)


async def test_oauth_query_values_signed_once_are_refused_like_woocommerce(
        sandbox, session: aiohttp.ClientSession) -> None:
    """A real WooCommerce 10.0.2 refuses a ``modified_after`` value signed with single encoding."""
    import base64
    import hashlib
    import hmac

    from agent.woo import oauth
    url = f"{sandbox.base_url}wp-json/wc/v3/orders"
    query = {"modified_after": "2026-11-28T21:55:01"}
    good = oauth.sign_params("GET", url, query, CK, CS)
    assert (await session.get(url, params=good)).status == 200
    single = {k: v for k, v in oauth.sign_params("GET", url, query, CK, CS).items() if k != "oauth_signature"}
    pairs = "%26".join(f"{oauth._enc(k)}%3D{oauth._enc(v)}" for k, v in sorted(single.items()))
    base = f"GET&{oauth._enc(url)}&{pairs}"
    mac = hmac.new(f"{CS}&".encode(), base.encode(), hashlib.sha1).digest()
    single["oauth_signature"] = base64.b64encode(mac).decode()
    refused = await session.get(url, params=single)
    assert refused.status == 401
    client = WooClient(session, base_url=sandbox.base_url, consumer_key=CK, consumer_secret=CS)
    assert client.uses_oauth
    from datetime import UTC, datetime
    page = await client.list_orders(modified_after=datetime(2026, 11, 28, 21, 55, 1, tzinfo=UTC))
    assert isinstance(page, list)
