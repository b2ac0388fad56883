"""Orders as WooCommerce stores and renders them (``GET /wc/v3/orders/<id>``), pure.

:func:`new_order` turns a ``POST /orders`` body into a :class:`StoredOrder` using :mod:`agent.sandbox.woo.checkout`;
:func:`render_order` gives the REST JSON with WooCommerce's keys, key order and string formatting (the
captured order 17 is the reference). The sandbox mutates a ``StoredOrder`` (status, dates, refunds, meta)
and renders it at response/delivery time. Quick use for table-driven tests::

    order = order_json(danish_shop(), request, order_id=17)   # dict, parses with models.Order
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from agent.sandbox.woo.checkout import Checkout, ItemLine, Shop, compute
from agent.sandbox.woo.taxes import ZERO, fmt_money, fmt_raw
from agent.sandbox.woo.wpjson import php_float

WC_VERSION = "10.0.2"
SITE_TZ = ZoneInfo("Europe/Copenhagen")
ADDRESS_KEYS = ("first_name", "last_name", "company", "address_1", "address_2", "city", "state", "postcode",
                "country", "email", "phone")
PAID_STATUSES = ("processing", "completed")
ALLOW_ITEM = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def local(dt: datetime | None) -> str | None:
    return None if dt is None else dt.astimezone(SITE_TZ).strftime("%Y-%m-%dT%H:%M:%S")


def gmt(dt: datetime | None) -> str | None:
    return None if dt is None else dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


@dataclass
class Ids:
    """WordPress-like counters: order item ids and meta ids are global to the shop."""

    items: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    meta: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def item(self) -> int:
        return next(self.items)

    def meta_id(self) -> int:
        return next(self.meta)


@dataclass
class StoredRefund:
    id: int
    order_id: int
    amount: Decimal
    reason: str
    created: datetime
    lines: list[dict[str, Any]]  # rendered item copies (line_items / shipping_lines / fee_lines by "kind")
    tax_lines: list[dict[str, Any]]
    refunded_by: int = 1
    refunded_payment: bool = False


@dataclass
class StoredOrder:
    id: int
    checkout: Checkout
    created: datetime
    status: str = "pending"
    order_key: str = ""
    customer_id: int = 0
    billing: dict[str, str] = field(default_factory=dict)
    shipping: dict[str, str] = field(default_factory=dict)
    payment_method: str = ""
    payment_method_title: str = ""
    transaction_id: str = ""
    customer_note: str = ""
    created_via: str = "rest-api"
    meta_data: list[dict[str, Any]] = field(default_factory=list)
    line_ids: list[int] = field(default_factory=list)
    line_meta: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    shipping_ids: list[int] = field(default_factory=list)
    fee_ids: list[int] = field(default_factory=list)
    tax_ids: dict[int, int] = field(default_factory=dict)
    coupon_ids: list[int] = field(default_factory=list)
    modified: datetime | None = None
    paid: datetime | None = None
    completed: datetime | None = None
    refunds: list[StoredRefund] = field(default_factory=list)  # newest first, as WooCommerce lists them
    stock_reduced: bool = False

    @property
    def needs_processing(self) -> bool:
        return not all(x.product.virtual and x.product.downloadable for x in self.checkout.lines)

    @property
    def refunded_total(self) -> Decimal:
        return sum((r.amount for r in self.refunds), ZERO)

    def line(self, item_id: int) -> ItemLine:
        return self.checkout.lines[self.line_ids.index(item_id)]


def _address(raw: Mapping[str, Any] | None, with_email: bool) -> dict[str, str]:
    keys = ADDRESS_KEYS if with_email else tuple(k for k in ADDRESS_KEYS if k != "email")
    raw = raw or {}
    return {k: str(raw.get(k, "") or "") for k in keys}


def new_order(shop: Shop, request: Mapping[str, Any], *, order_id: int, ids: Ids, now: datetime,
              order_key: str = "wc_order_sandbox00000") -> StoredOrder:
    """Store an order as ``POST /orders`` would (status from ``status``, default pending; no payment yet)."""
    result = compute(shop, request)
    order = StoredOrder(
        id=order_id, checkout=result, created=now, modified=now, order_key=order_key,
        status=str(request.get("status") or "pending"), customer_id=int(request.get("customer_id") or 0),
        billing=_address(request.get("billing"), True), shipping=_address(request.get("shipping"), False),
        payment_method=str(request.get("payment_method", "")),
        payment_method_title=str(request.get("payment_method_title", "")),
        transaction_id=str(request.get("transaction_id", "")), customer_note=str(request.get("customer_note", "")),
        created_via=str(request.get("created_via") or "rest-api"),
    )
    order.meta_data = [{"id": ids.meta_id(), "key": str(m["key"]), "value": m.get("value")}
                       for m in request.get("meta_data") or []]
    for line in result.lines:
        item_id = ids.item()
        order.line_ids.append(item_id)
        order.line_meta[item_id] = [_meta(ids, slug, option, label, option)
                                    for slug, label, option in line.product.attributes]
    order.shipping_ids = [ids.item() for _ in result.shipping]
    order.fee_ids = [ids.item() for _ in result.fees]
    order.tax_ids = {t.rate.id: ids.item() for t in result.tax_lines}
    order.coupon_ids = [ids.item() for _ in result.coupons]
    order.line_meta.update({cid: [_coupon_info(ids, c.coupon)] for cid, c in zip(order.coupon_ids, result.coupons,
                                                                                  strict=True)})
    return order


def _meta(ids: Ids, key: str, value: Any, display_key: str | None = None, display_value: Any = None) -> dict[str, Any]:
    return {"id": ids.meta_id(), "key": key, "value": value,
            "display_key": display_key if display_key is not None else key,
            "display_value": display_value if display_value is not None else value}


def _coupon_info(ids: Ids, coupon: Any) -> dict[str, Any]:
    # WC_Coupon::get_short_info: [id, code, type (null for fixed_cart), amount(, true if free shipping)]
    info: list[Any] = [coupon.id, coupon.code, None if coupon.discount_type == "fixed_cart" else coupon.discount_type,
                       _number(coupon.amount)]
    if coupon.free_shipping:
        info.append(True)
    text = json.dumps(info, separators=(",", ":"))
    return _meta(ids, "coupon_info", text)


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def add_line_meta(order: StoredOrder, ids: Ids, item_id: int, key: str, value: str) -> None:
    metas = order.line_meta.setdefault(item_id, [])
    for meta in metas:
        if meta["key"] == key:
            meta["value"] = meta["display_value"] = value
            return
    metas.append(_meta(ids, key, value))


def _taxes(taxes: Mapping[int, Decimal], subtotal: Mapping[int, Decimal] | None, sign: int = 1) -> list[Any]:
    out = []
    for rate_id, amount in taxes.items():
        sub = "" if subtotal is None else fmt_money(sign * subtotal.get(rate_id, ZERO))
        out.append({"id": rate_id, "total": fmt_money(sign * amount), "subtotal": sub})
    return out


def line_item_json(item_id: int, line: ItemLine, meta: list[dict[str, Any]]) -> dict[str, Any]:
    p = line.product
    price = php_float(float(line.total) / line.quantity) if line.quantity else 0
    return {
        "id": item_id, "name": p.name, "product_id": p.parent_id or p.id, "variation_id": p.id if p.parent_id else 0,
        "quantity": line.quantity, "tax_class": line.tax_class,
        "subtotal": fmt_money(line.subtotal), "subtotal_tax": fmt_money(line.subtotal_tax),
        "total": fmt_money(line.total), "total_tax": fmt_money(line.total_tax),
        "taxes": _taxes(line.taxes, line.subtotal_taxes), "meta_data": meta, "sku": p.sku, "price": price,
        "image": {"id": 0 if p.parent_id else "", "src": ""}, "parent_name": p.parent_name,
    }


def render_order(order: StoredOrder, shop: Shop, home: str) -> dict[str, Any]:
    """The order as ``GET /wp-json/wc/v3/orders/<id>`` returns it (``home`` ends with ``/``)."""
    c = order.checkout
    head = {
        "id": order.id, "parent_id": 0, "status": order.status, "currency": c.currency, "version": WC_VERSION,
        "prices_include_tax": shop.settings.prices_include_tax,
        "date_created": local(order.created), "date_modified": local(order.modified),
        "discount_total": fmt_money(c.discount_total), "discount_tax": fmt_money(c.discount_tax),
        "shipping_total": fmt_money(c.shipping_total), "shipping_tax": fmt_money(c.shipping_tax),
        "cart_tax": fmt_money(c.cart_tax), "total": fmt_money(c.total), "total_tax": fmt_money(c.total_tax),
        "customer_id": order.customer_id, "order_key": order.order_key,
        "billing": order.billing, "shipping": order.shipping,
        "payment_method": order.payment_method, "payment_method_title": order.payment_method_title,
        "transaction_id": order.transaction_id, "customer_ip_address": "", "customer_user_agent": "",
        "created_via": order.created_via, "customer_note": order.customer_note,
        "date_completed": local(order.completed), "date_paid": local(order.paid), "cart_hash": "",
        "number": str(order.id), "meta_data": [dict(m) for m in order.meta_data],
    }
    return head | _items(order) | _tail(order, home)


def _items(order: StoredOrder) -> dict[str, Any]:
    c = order.checkout
    return {
        "line_items": [line_item_json(i, line, order.line_meta.get(i, []))
                       for i, line in zip(order.line_ids, c.lines, strict=True)],
        "tax_lines": [{
            "id": order.tax_ids[t.rate.id], "rate_code": t.rate.rate_code, "rate_id": t.rate.id,
            "label": t.rate.name, "compound": t.rate.compound, "tax_total": fmt_money(t.tax_total),
            "shipping_tax_total": fmt_money(t.shipping_tax_total), "rate_percent": php_float(t.rate.rate),
            "meta_data": [],
        } for t in c.tax_lines],
        "shipping_lines": [{
            "id": i, "method_title": s.method_title, "method_id": s.method_id, "instance_id": s.instance_id,
            "total": fmt_money(s.total), "total_tax": fmt_money(s.total_tax), "taxes": _taxes(s.taxes, None),
            "tax_status": "taxable", "meta_data": [],
        } for i, s in zip(order.shipping_ids, c.shipping, strict=True)],
        "fee_lines": [{
            "id": i, "name": f.name, "tax_class": f.tax_class, "tax_status": f.tax_status, "amount": "",
            "total": fmt_money(f.total), "total_tax": fmt_money(f.total_tax), "taxes": _taxes(f.taxes, None),
            "meta_data": [],
        } for i, f in zip(order.fee_ids, c.fees, strict=True)],
        "coupon_lines": [{
            "id": i, "code": r.coupon.code, "discount": fmt_raw(r.discount), "discount_tax": fmt_raw(r.discount_tax),
            "meta_data": order.line_meta.get(i, []), "discount_type": r.coupon.discount_type,
            "nominal_amount": php_float(r.coupon.amount), "free_shipping": r.coupon.free_shipping,
        } for i, r in zip(order.coupon_ids, c.coupons, strict=True)],
    }


def _tail(order: StoredOrder, home: str) -> dict[str, Any]:
    api = f"{home}wp-json/wc/v3/orders"
    editable = order.status in ("pending", "on-hold", "auto-draft")
    return {
        "refunds": [{"id": r.id, "reason": r.reason, "total": "-" + fmt_money(r.amount)} for r in order.refunds],
        "payment_url": f"{home}checkout/order-pay/{order.id}/?pay_for_order=true&key={order.order_key}",
        "is_editable": editable,
        "needs_payment": order.status in ("pending", "failed") and order.checkout.total > 0,
        "needs_processing": order.needs_processing,
        "date_created_gmt": gmt(order.created), "date_modified_gmt": gmt(order.modified),
        "date_completed_gmt": gmt(order.completed), "date_paid_gmt": gmt(order.paid),
        "currency_symbol": currency_symbol(order.checkout.currency),
        "_links": {
            "self": [{"href": f"{api}/{order.id}", "targetHints": {"allow": list(ALLOW_ITEM)}}],
            "collection": [{"href": api}],
            "email_templates": [{"embeddable": True, "href": f"{api}/{order.id}/actions/email_templates"}],
        },
    }


def currency_symbol(code: str) -> str:
    return {"DKK": "kr.", "SEK": "kr", "NOK": "kr", "EUR": "€", "USD": "$", "GBP": "£"}.get(code, code)


def order_json(shop: Shop, request: Mapping[str, Any], *, order_id: int = 17, home: str = "https://shop.example.dk/",
               now: Callable[[], datetime] | None = None) -> dict[str, Any]:
    """One-call helper: the REST JSON of an order created from ``request`` (status as requested)."""
    when = (now or (lambda: datetime.now(UTC)))()
    order = new_order(shop, request, order_id=order_id, ids=Ids(), now=when)
    if request.get("set_paid"):
        order.paid = when
        order.status = "completed" if order.payment_method == "cod" or not order.needs_processing else "processing"
    return render_order(order, shop, home)
