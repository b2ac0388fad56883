"""Field mapping end to end (issue 19): the templates' output reaches the invoice in Dynaccount over HTTP,
the money stays WooCommerce's, and a template that fails on an order holds it with the template's name
and books nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agent.app import JOURNAL
from agent.dynaccount import assumptions as A
from agent.sandbox.demo import Stack, verify
from agent.sandbox.demo_orders import order_payloads

from .conftest import drive

MAPPING = {
    "invoice_text": "Ordre {{ order.number }} fra {{ shop }}",
    "customer_reference": "Jeres ref.: {{ meta._po_number }}",
    "line_text": "{{ line.name | upper }}",
    "line_note": "sku {{ line.sku }}",
    "attention": "{{ order.billing.first_name }} (indkøb)",
    "delivery": {"name": "Lager {{ order.shipping.last_name }}", "attention": "Porten",
                 "address": "{{ order.shipping.address_1 }}", "zip": "{{ order.shipping.postcode }}",
                 "city": "{{ order.shipping.city }}", "country": "{{ order.shipping.country }}"},
    "invoice_fields": {"dlv_attention": "{{ meta._po_contact }}"},
}  # fmt: skip


async def _order_with_meta(stack: Stack, meta: dict[str, str]) -> int:
    payload = next(order_payloads(1, seed=3))
    payload["meta_data"] = [{"key": k, "value": v} for k, v in meta.items()]
    return (await stack.shop.create_order(payload)).id


def _invoice(stack: Stack, order_id: int) -> dict[str, Any] | None:
    return stack.dyn.store.find(A.INVOICE_TABLE, "requisition", f"{stack.config.shop.name}/order-{order_id}")


async def test_every_mapped_field_lands_on_the_booked_invoice(make_stack: Callable[..., Any]) -> None:
    clock, ctx = make_stack(mapping=MAPPING)
    async with ctx as stack:
        order_id = await _order_with_meta(stack, {"_po_number": "PO-4711", "_po_contact": "Indkøb, Jens"})
        await drive(stack, clock)
        order = await stack.shop.get_order(order_id)
        invoice = _invoice(stack, order_id)
        assert invoice is not None and invoice["is_booked"], invoice
        assert invoice["txt"] == f"Ordre {order.number} fra {stack.config.shop.name}\nJeres ref.: PO-4711"
        assert invoice["attention"] == f"{order.billing.first_name} (indkøb)"
        assert invoice["dlv_attention"] == "Indkøb, Jens"  # invoice_fields wins over delivery.attention
        assert invoice["dlv_name"] == f"Lager {order.shipping.last_name}"
        assert invoice["dlv_address"] == order.shipping.address_1 and invoice["dlv_zip"] == order.shipping.postcode
        lines = stack.dyn.store.where(A.INVOICE_LINE_TABLE, "invoice_id", invoice["id"])
        items = {ln["name"]: ln["txt"] for ln in lines if ln.get("product_id_")}
        for item in order.line_items:
            assert items[item.name.upper()] == f"sku {item.sku}"
        verdict = await verify(stack, [order_id])  # the mapping changes no amount: to the øre, per VAT code
        assert verdict.matched == 1 and verdict.mismatched == [] and verdict.vat_mismatched == [], verdict


async def test_a_template_failing_on_an_order_holds_it_and_books_nothing(make_stack: Callable[..., Any]) -> None:
    clock, ctx = make_stack(mapping=MAPPING)
    async with ctx as stack:
        order_id = await _order_with_meta(stack, {"_po_contact": "Jens"})  # no _po_number
        await drive(stack, clock)
        item = await stack.app[JOURNAL].get_work(f"order:{order_id}")
        assert item is not None and item.state == "held", item
        assert "[mapping] customer_reference" in ((item.reason or "") + (item.error or "")) and "_po_number" in ((item.reason or "") + (item.error or ""))
        assert stack.dyn.store.tables[A.INVOICE_TABLE] == {}  # no half-filled document
