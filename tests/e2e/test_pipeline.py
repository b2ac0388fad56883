"""Orders placed in the WooCommerce sandbox end as Dynaccount invoices, over real HTTP all the way."""

from __future__ import annotations

from decimal import Decimal

from agent.app import JOURNAL
from agent.clock import ManualClock
from agent.sandbox.demo import Stack, place_orders, refund_some, verify
from agent.sandbox.demo_orders import SHAPES

from .conftest import drive  # type: ignore[import-not-found]


def _invoice(stack: Stack, order_id: int) -> dict:  # type: ignore[type-arg]
    store = stack.dyn.store
    [row] = [r for r in store.tables["debtor_invoice"].values() if r.get("requisition") == f"woo/order-{order_id}"]
    invoice = store.render("debtor_invoice", row)
    invoice["lines"] = [store.render("debtor_invoice_product", li) for li in store.where("debtor_invoice_product",
                                                                                        "invoice_id", row["id"])]
    return invoice


async def test_every_shape_becomes_one_booked_invoice_matching_woocommerce(stack: tuple[Stack, ManualClock]) -> None:
    s, clock = stack
    # the agent registered its webhooks through the REST API, and the shop pinged them
    hooks = await s.shop.list_webhooks()
    assert {h.topic for h in hooks} >= {"order.created", "order.updated", "action.woocommerce_order_refunded"}
    ids = await place_orders(s, len(SHAPES))
    await drive(s, clock)
    verdict = await verify(s, ids)
    assert verdict.ok, verdict
    assert verdict.invoiced == verdict.booked == verdict.matched == len(SHAPES)
    by_shape = {name: order_id for (name, *_), order_id in zip(SHAPES, ids, strict=True)}
    codes = {name: {li["vatcode_name"] for li in _invoice(s, oid)["lines"]} for name, oid in by_shape.items()}
    assert codes["dk-b2c-coupon"] == {"K25"}
    assert codes["de-oss"] == {"OSS-DE-19"}
    assert codes["se-oss"] == {"OSS-SE-25"}
    assert codes["fr-oss"] == {"OSS-FR-20"}
    assert codes["no-export"] == {"EXP"}
    assert codes["de-reverse-charge"] == {"EUV"}
    assert "K0" in codes["dk-zero-rate-fee"]
    store = s.dyn.store
    debtors = {d["module_id_"]: d for d in store.tables["debtor"].values()}
    ean = _invoice(s, by_shape["dk-ean"])
    assert debtors[ean["module_id_"]]["module_group_name"] == "EAN"
    b2b = _invoice(s, by_shape["dk-b2b"])
    assert debtors[b2b["module_id_"]]["module_group_name"] == "B2B"
    assert debtors[b2b["module_id_"]]["vatno"] == "DK12345678"
    # products were created by SKU; the line without SKU went to the fallback product
    products = {p["product_id_"] for p in store.tables["product"].values()}
    assert {"KRUS-001", "TSHIRT-S", "BONNE-001", "HOODIE-S"} <= products
    assert "MISC" in {li["product_id_"] for li in _invoice(s, by_shape["dk-no-sku"])["lines"]}
    # every invoice is booked and carries a number; the order's work item is done with the reason
    for order_id in ids:
        assert _invoice(s, order_id)["invoice_id_"]
        item = await s.app[JOURNAL].get_work(f"order:{order_id}")
        assert item is not None and item.state == "done" and "booked" in (item.reason or "")


async def test_payments_registered_per_method(stack: tuple[Stack, ManualClock]) -> None:
    s, clock = stack
    ids = await place_orders(s, 3)  # bacs (paid), stripe, bacs b2b
    await drive(s, clock)
    journal = s.app[JOURNAL]
    for order_id in ids:
        link = await journal.get_link("payment", order_id)
        order = await s.shop.get_order(order_id)
        assert link is not None, f"order {order_id} ({order.payment_method}) paid at {order.date_paid_gmt}"
        assert Decimal(link.amount or "0") == order.total
    vouchers = [e for e in s.dyn.store.tables["enclosure"].values() if str(e.get("txt", "")).endswith("-payment")]
    assert len(vouchers) == 3


async def test_order_changes_after_booking_do_not_invoice_again(stack: tuple[Stack, ManualClock]) -> None:
    s, clock = stack
    [order_id] = await place_orders(s, 1)
    await drive(s, clock)
    await s.shop.update_order(order_id, {"status": "completed"})
    await s.shop.update_order(order_id, {"customer_note": "changed later"})
    await drive(s, clock)
    invoices = [r for r in s.dyn.store.tables["debtor_invoice"].values() if r.get("requisition") == f"woo/order-{order_id}"]
    assert len(invoices) == 1


async def test_pending_order_is_skipped_with_reason_then_invoiced_when_paid(stack: tuple[Stack, ManualClock]) -> None:
    s, clock = stack
    order = await s.shop.create_order({"payment_method": "bacs", "line_items": [{"product_id": 11, "quantity": 1}],
                                       "billing": {"country": "DK", "email": "x@example.dk", "first_name": "X"}})
    await drive(s, clock)
    item = await s.app[JOURNAL].get_work(f"order:{order.id}")
    assert item is not None and item.state == "skipped" and "pending" in (item.reason or "")
    assert not s.dyn.store.tables["debtor_invoice"]
    await s.shop.update_order(order.id, {"status": "processing"})
    await drive(s, clock)
    assert len(s.dyn.store.tables["debtor_invoice"]) == 1


async def test_refunds_become_credit_notes(stack: tuple[Stack, ManualClock]) -> None:
    s, clock = stack
    ids = await place_orders(s, 9)
    await drive(s, clock)
    await refund_some(s, ids, {0: "line", 1: "amount", 2: "shipping", 3: "partial_qty", 4: "full"})
    await refund_some(s, ids, {3: "amount"})  # a second refund on the same order
    await drive(s, clock)
    verdict = await verify(s, ids)
    assert verdict.ok, verdict
    assert verdict.creditnotes == len(s.refunds) == 6
