"""The sandbox's control API over HTTP (what the demo uses)."""

from __future__ import annotations

import aiohttp

from agent.sandbox.woo import WooSandbox

from .helpers import CART_17


async def test_control_api_round_trip(sandbox: WooSandbox, session: aiohttp.ClientSession) -> None:
    base = f"{sandbox.base_url}__sandbox"
    created = await (await session.post(f"{base}/orders", json={**CART_17, "set_paid": True})).json()
    assert created["status"] == "processing" and created["total"] == "428.80"
    done = await (await session.post(f"{base}/orders/{created['id']}/advance", json={})).json()
    assert done["status"] == "completed"
    refund = await (await session.post(f"{base}/orders/{created['id']}/refund", json={"full": True})).json()
    assert refund["amount"] == "428.80" and refund["tax_lines"][0]["tax_total"] == "-75.96"
    assert sandbox.order_json(created["id"])["status"] == "refunded"
    stock = await (await session.get(f"{base}/stock")).json()
    assert stock["11"] == 50  # sold two, restocked two
    product = await (await session.post(f"{base}/products/11", json={"stock_quantity": 7})).json()
    assert product["stock_quantity"] == 7
    await session.post(f"{base}/deliveries", json={"drop_next": 1, "delay": 0})
    summary = await (await session.post(f"{base}/flush")).json()
    assert summary["stock"]["11"] == 7 and summary["orders"][0]["refunded"] == "428.80"
    missing = await session.post(f"{base}/orders/999/advance", json={})
    assert missing.status == 404
