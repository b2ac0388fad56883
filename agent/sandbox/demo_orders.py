"""The demo's stream of orders and refunds: REST payloads a real shop accepts (``POST /orders``,
``POST /orders/<id>/refunds``), varied over the shapes an accounting integration must get right."""

from __future__ import annotations

import random
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from agent.woo.models import FeeLine, ItemTax, Order, ShippingLine

RefundSpec = Literal["line", "partial_qty", "amount", "shipping", "full", "restocking"]

CUSTOMERS: dict[str, dict[str, str]] = {
    "DK": {"first_name": "Mette", "last_name": "Jørgensen", "address_1": "Nørrebrogade 12", "city": "København N",
           "postcode": "2200", "country": "DK", "phone": "+45 12 34 56 78"},
    "DE": {"first_name": "Jonas", "last_name": "Müller", "address_1": "Torstraße 5", "city": "Berlin",
           "postcode": "10119", "country": "DE", "phone": "+49 30 1234567"},
    "SE": {"first_name": "Astrid", "last_name": "Lindqvist", "address_1": "Drottninggatan 3", "city": "Stockholm",
           "postcode": "11151", "country": "SE", "phone": "+46 8 123 45"},
    "FR": {"first_name": "Camille", "last_name": "Dubois", "address_1": "12 rue de Rivoli", "city": "Paris",
           "postcode": "75004", "country": "FR", "phone": "+33 1 23 45 67 89"},
    "NL": {"first_name": "Daan", "last_name": "de Vries", "address_1": "Keizersgracht 100", "city": "Amsterdam",
           "postcode": "1015 AA", "country": "NL", "phone": "+31 20 123 4567"},
    "NO": {"first_name": "Ola", "last_name": "Nordmann", "address_1": "Karl Johans gate 1", "city": "Oslo",
           "postcode": "0154", "country": "NO", "phone": "+47 22 33 44 55"},
}  # fmt: skip

GLS = {"method_id": "flat_rate", "method_title": "GLS Pakkeshop", "total": "39.20"}
DHL = {"method_id": "flat_rate", "method_title": "DHL", "total": "60.00"}
# 39.50 net: 9.875 tax, which WooCommerce rounds half down to 9.87 (a half-øre tax)
HALF = {"method_id": "flat_rate", "method_title": "GLS Erhverv", "total": "39.50"}
REBATE = {"name": "Mængderabat", "total": "-30.00", "tax_status": "taxable"}  # apportioned over the classes

# (name, country, items, extra) — items are (product_id, variation_id, qty)
SHAPES: list[tuple[str, str, list[tuple[int, int, int]], dict[str, Any]]] = [
    ("dk-b2c-coupon", "DK", [(11, 0, 2), (13, 14, 1), (12, 0, 1)],
     {"coupon_lines": [{"code": "velkommen10"}], "shipping_lines": [GLS], "payment_method": "bacs"}),
    ("dk-card-hoodie", "DK", [(101, 102, 1)], {"shipping_lines": [GLS], "payment_method": "stripe"}),
    ("dk-b2b", "DK", [(107, 0, 3), (11, 0, 4)],
     {"company": "Kaffebaren ApS", "meta": {"_billing_vat_number": "DK12345678"}, "payment_method": "bacs",
      "shipping_lines": [GLS]}),
    ("dk-ean", "DK", [(11, 0, 6)],
     {"company": "Aarhus Kommune", "meta": {"_billing_ean": "5798000012345"}, "payment_method": "bacs"}),
    ("de-oss", "DE", [(13, 15, 1)], {"shipping_lines": [DHL], "payment_method": "stripe"}),
    ("se-oss", "SE", [(11, 0, 3)], {"shipping_lines": [GLS], "payment_method": "stripe"}),
    ("fr-oss", "FR", [(13, 100, 1), (11, 0, 1)], {"shipping_lines": [DHL], "payment_method": "stripe"}),
    ("no-export", "NO", [(11, 0, 2)], {"shipping_lines": [DHL], "payment_method": "stripe"}),
    ("de-reverse-charge", "DE", [(11, 0, 10)],
     {"company": "Kaffeehaus GmbH", "meta": {"_billing_vat_number": "DE123456789", "is_vat_exempt": "yes"},
      "payment_method": "bacs"}),
    ("dk-fixed-cart", "DK", [(11, 0, 1), (13, 100, 1), (105, 0, 1)],
     {"coupon_lines": [{"code": "fast50"}], "shipping_lines": [GLS], "payment_method": "mobilepay"}),
    ("dk-renewal", "DK", [(105, 0, 1)],
     {"meta": {"_subscription_renewal": "6001"}, "payment_method": "stripe", "created_via": "subscription"}),
    ("dk-cod", "DK", [(12, 0, 2), (11, 0, 1)], {"shipping_lines": [GLS], "payment_method": "cod"}),
    ("dk-zero-rate-fee", "DK", [(106, 0, 2), (11, 0, 1)],
     {"fee_lines": [{"name": "Ekspeditionsgebyr", "total": "15.00", "tax_status": "taxable"}],
      "payment_method": "stripe"}),
    ("dk-no-sku", "DK", [(104, 0, 3), (11, 0, 1)], {"payment_method": "stripe"}),
    ("dk-multi", "DK", [(11, 0, 3), (13, 14, 1), (13, 15, 1), (107, 0, 2)],
     {"coupon_lines": [{"code": "krus20"}], "shipping_lines": [GLS], "payment_method": "stripe"}),
    # issue 12: reduced OSS rates, a negative fee over two classes, a half-øre tax, NL, Danish gateways
    ("de-oss-reduced", "DE", [(107, 0, 2), (11, 0, 1)], {"shipping_lines": [DHL], "payment_method": "stripe"}),
    ("fr-oss-reduced", "FR", [(107, 0, 1)], {"shipping_lines": [DHL], "payment_method": "quickpay"}),
    ("se-oss-reduced", "SE", [(107, 0, 1), (13, 14, 1)],
     {"coupon_lines": [{"code": "velkommen10"}], "shipping_lines": [GLS], "payment_method": "stripe"}),
    ("nl-oss-two-rates", "NL", [(107, 0, 3), (11, 0, 2)], {"shipping_lines": [DHL], "payment_method": "viabill"}),
    ("dk-negative-fee", "DK", [(11, 0, 2), (106, 0, 2)],
     {"fee_lines": [REBATE], "shipping_lines": [GLS], "payment_method": "mobilepay"}),
    ("de-negative-fee-oss", "DE", [(107, 0, 1), (11, 0, 2)],
     {"fee_lines": [REBATE], "shipping_lines": [DHL], "payment_method": "stripe"}),
    ("dk-half-øre-tax", "DK", [(11, 0, 1)], {"shipping_lines": [HALF], "payment_method": "quickpay"}),
]  # fmt: skip

# Orders the shop refunds in full before the agent sees them (downtime, a lost webhook): invoiced as sold,
# then credited.
REFUNDED_BEFORE_SEEN: list[tuple[str, str, list[tuple[int, int, int]], dict[str, Any]]] = [
    ("dk-refunded-before-seen", "DK", [(11, 0, 2), (12, 0, 1)],
     {"shipping_lines": [HALF], "payment_method": "stripe"}),
    ("de-refunded-before-seen", "DE", [(107, 0, 1), (13, 15, 1)],
     {"shipping_lines": [DHL], "payment_method": "stripe"}),
]  # fmt: skip


def order_payloads(count: int, *, seed: int = 7, shapes: list[Any] | None = None) -> Iterator[dict[str, Any]]:
    """``count`` paid orders, cycling through :data:`SHAPES` (or ``shapes``) with a few random variations."""
    rng = random.Random(seed)
    shapes = shapes or SHAPES
    for n in range(count):
        name, country, items, extra = shapes[n % len(shapes)]
        yield _payload(n, name, country, items, extra, rng)


def _payload(n: int, name: str, country: str, items: list[tuple[int, int, int]], extra: dict[str, Any],
             rng: random.Random) -> dict[str, Any]:  # fmt: skip
    person = dict(CUSTOMERS[country])
    person["email"] = f"customer{n % 37}@example.{country.lower()}"
    if extra.get("company"):
        person["company"] = extra["company"]
    lines = [{"product_id": p, "variation_id": v, "quantity": q + (rng.random() < 0.3)} for p, v, q in items]
    payload: dict[str, Any] = {
        "payment_method": extra.get("payment_method", "stripe"),
        "billing": person, "shipping": {k: v for k, v in person.items() if k not in ("email", "phone")},
        "line_items": [{k: v for k, v in line.items() if v or k != "variation_id"} for line in lines],
        "meta_data": [{"key": k, "value": v} for k, v in {**extra.get("meta", {}), "_demo_shape": name}.items()],
        "set_paid": True,
    }  # fmt: skip
    for key in ("coupon_lines", "shipping_lines", "fee_lines", "created_via"):
        if key in extra:
            payload[key] = extra[key]
    return payload


def _cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _taxes(taxes: list[ItemTax]) -> list[dict[str, Any]]:
    return [{"id": t.id, "refund_total": str(t.total)} for t in taxes]


def refund_payload(order: Order, spec: RefundSpec) -> list[dict[str, Any]]:
    """REST refund bodies for ``order`` (``api_refund`` false: the demo has no gateway to call)."""
    base = {"api_refund": False, "reason": f"Demo refund ({spec})"}
    first = order.line_items[0]
    if spec == "restocking":  # the whole first line back, less a 10 kr fee the shop keeps
        [line_refund] = refund_payload(order, "line")
        return [{**line_refund, "amount": str(Decimal(line_refund["amount"]) - 10)}]
    if spec in ("line", "partial_qty"):
        qty = first.quantity if spec == "line" else Decimal(1)
        share = qty / first.quantity
        net = _cents(first.total * share)
        tax_amounts = {t.id: _cents(t.total * share) for t in first.taxes}
        taxes = [{"id": k, "refund_total": str(v)} for k, v in tax_amounts.items()]
        amount = net + sum(tax_amounts.values(), Decimal(0))
        line = {"id": first.id, "quantity": int(qty), "refund_total": str(net), "refund_tax": taxes}
        return [{**base, "amount": str(amount), "line_items": [line]}]
    if spec == "shipping" and order.shipping_lines:
        ship = order.shipping_lines[0]
        taxes = [{"id": t.id, "refund_total": str(t.total)} for t in ship.taxes]
        line = {"id": ship.id, "refund_total": str(ship.total), "refund_tax": taxes}
        return [{**base, "amount": str(ship.total + ship.total_tax), "line_items": [line]}]
    if spec == "full":
        lines: list[dict[str, Any]] = [
            {"id": li.id, "quantity": int(li.quantity), "refund_total": str(li.total), "refund_tax": _taxes(li.taxes)}
            for li in order.line_items
        ]
        others: list[ShippingLine | FeeLine] = [*order.shipping_lines, *order.fee_lines]
        for other in others:
            lines.append({"id": other.id, "refund_total": str(other.total), "refund_tax": _taxes(other.taxes)})
        return [{**base, "amount": str(order.total), "line_items": lines}]
    # amount-only: a goodwill refund with no lines, a third of the order
    return [{**base, "amount": str(_cents(order.total / 3))}]
