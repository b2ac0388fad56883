"""Field mapping without code (issue 19): each mappable field from a template, errors held with the
template's name, the rendered fields in ``plan``'s text, and references that carry the shop."""

from __future__ import annotations

from typing import Any

import pytest

from agent.config import ConfigError, parse_config
from agent.plan import InvoicePlan, Skip, plan_invoice, references, render_plan
from agent.plan.types import Address
from agent.woo.models import MetaData

from .helpers import order17, settings

DELIVERY = {"name": "{{ order.shipping.first_name }} {{ order.shipping.last_name }}", "attention": "Porten",
            "address": "{{ order.shipping.address_1 | upper }}", "zip": "{{ order.shipping.postcode }}",
            "city": "{{ order.shipping.city }}", "country": "{{ order.shipping.country }}"}  # fmt: skip
MAPPING = {
    "invoice_text": "Ordre {{ order.number }} fra {{ shop }}",
    "customer_reference": "Jeres ref.: {{ meta._po_number }}",
    "line_text": "{{ line.name }} ({{ line.sku }})",
    "line_note": "{{ line_meta.storrelse | default('') }}",
    "attention": "{{ order.billing.first_name }}",
    "delivery": DELIVERY,
    "invoice_fields": {"dlv_attention": "{{ meta._po_contact }}"},
}


def _order() -> Any:
    order = order17()
    meta = [*order.meta_data, MetaData(id=900, key="_po_number", value="PO-4711"),
            MetaData(id=901, key="_po_contact", value="Indkøb, Jens")]  # fmt: skip
    return order.model_copy(update={"meta_data": meta})


def _plan(**mapping: Any) -> InvoicePlan | Skip:
    return plan_invoice(_order(), settings(mapping=mapping, shop={"name": "shop-dk", "dimension_name": "WEB-DK"}))


def test_each_mappable_field_comes_from_its_template() -> None:
    plan = _plan(**MAPPING)
    assert isinstance(plan, InvoicePlan), plan
    assert plan.text == "Ordre 17 fra shop-dk\nJeres ref.: PO-4711"
    assert plan.debtor.attention == "Mette"
    assert plan.debtor.delivery is not None and plan.debtor.delivery.attention == "Porten"
    assert plan.debtor.delivery == Address(**{k: plan.debtor.delivery.__dict__[k] for k in DELIVERY})
    assert plan.debtor.delivery.address == _order().shipping.address_1.upper()
    assert dict(plan.header_fields) == {"dlv_attention": "Indkøb, Jens"}
    items = [line for line in plan.lines if line.kind == "item"]
    assert [line.name for line in items][:2] == ["Kaffekrus (KRUS-001)", "T-shirt - S (TSHIRT-S)"]
    assert [line.txt for line in items][:2] == ["", "S"]  # line meta "storrelse"
    assert plan.reference == "shop-dk/order-17" and plan.dimension == "WEB-DK"
    # the mapped text changes nothing in the money
    plain = _plan()
    assert isinstance(plain, InvoicePlan) and plain.totals == plan.totals and plain.text == "WooCommerce order 17"


@pytest.mark.parametrize(("template", "name", "fragment"), [
    ({"customer_reference": "{{ meta._missing_po }}"}, "customer_reference", "_missing_po"),
    ({"line_text": "{{ line.name / 0 }}"}, "line_text", "TypeError"),
    ({"invoice_fields": {"dlv_attention": "{{ order.__class__.__mro__ }}"}}, "invoice_fields.dlv_attention",
     "__class__"),
])  # fmt: skip
def test_a_template_error_holds_the_order_with_the_template_and_the_error(
    template: dict[str, Any], name: str, fragment: str
) -> None:
    plan = _plan(invoice_text="Ordre {{ order.number }}", **template)
    assert isinstance(plan, Skip) and plan.kind == "hold", plan
    assert f"[mapping] {name}:" in plan.reason and fragment in plan.reason, plan.reason


def test_plan_shows_the_rendered_fields() -> None:
    text = render_plan(_plan(**MAPPING))
    assert "Text: Ordre 17 fra shop-dk / Jeres ref.: PO-4711" in text
    assert "Field dlv_attention: Indkøb, Jens" in text
    assert "Kaffekrus (KRUS-001)" in text and "note: S" in text
    assert "att. Mette" in text and "Dimension: WEB-DK" in text and "(shop-dk/order-17)" in text


BASE = {"woocommerce": {"url": "https://www.shop-dk.example.com", "consumer_key": "ck", "consumer_secret": "cs",
                        "webhook_secret": "12345678"},
        "dynaccount": {"api_id": 1, "api_key": "k", "api_secret": "s"}}  # fmt: skip


@pytest.mark.parametrize(("tables", "fragment"), [
    ({"mapping": {"invoice_text": "{{ order.number "}}, "mapping.invoice_text"),
    ({"mapping": {"invoice_fields": {"requisition": "x"}}}, "unknown invoice column(s) requisition"),
    ({"mapping": {"delivery": {"name": "x"}}}, "needs exactly the keys"),
    ({"shop": {"name": "shop_dk"}}, "shop.name"),
    ({"shop": {"name": "a-very-long-shop-name"}}, "shop.name"),
])  # fmt: skip
def test_check_names_a_wrong_template_or_shop_name(tables: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config({**BASE, **tables})
    assert fragment in str(err.value)


def test_shop_name_defaults_to_the_shop_host_and_fits_every_reference() -> None:
    assert parse_config(BASE).shop.name == "shop-dk-example"  # www. dropped, 15 characters at most
    assert references.name_from_url("http://127.0.0.1:8080") == "127-0-0-1"
    longest = references.payout(references.creditnote("a" * references.NAME_MAX_LENGTH, "refund-{id}",
                                                      refund_id=10**19))  # fmt: skip
    assert len(longest) <= references.REFERENCE_MAX_LENGTH
    with pytest.raises(references.ReferenceTooLong):
        references.invoice("shop-dk", "order-{id}-" + "x" * 40, order_id=17, number="17")
