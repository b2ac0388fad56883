"""Refunds the way ``wc_create_refund`` builds them (spec §3, §11.12), pure.

The stored ``amount`` is what was asked for (or the sum of the lines when absent); lines are copies of
the order items with negative quantity/totals and ``_refunded_item_id``; no ``refund_tax`` means no VAT
refunded; amount-only refunds have neither lines nor tax lines.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from agent.sandbox.woo.checkout import Shop
from agent.sandbox.woo.orderjson import Ids, StoredOrder, StoredRefund, gmt, line_item_json, local
from agent.sandbox.woo.taxes import ZERO, fmt_money
from agent.sandbox.woo.wpjson import php_float

ErrorFactory = Callable[..., Exception]


def _dec(value: Any) -> Decimal:
    return Decimal(str(value or "0").replace(",", "."))


def build_refund(order: StoredOrder, shop: Shop, payload: Mapping[str, Any], *, refund_id: int, ids: Ids,
                 now: datetime, error: ErrorFactory) -> StoredRefund:
    lines: list[dict[str, Any]] = []
    line_sum = ZERO
    for raw in payload.get("line_items") or []:
        found = _refund_line(order, raw, ids)
        if found is None:
            continue  # wc_create_refund only looks at the order's own items; other ids are ignored
        line, money = found
        lines.append(line)
        line_sum += money
    amount = _dec(payload["amount"]) if payload.get("amount") not in (None, "") else line_sum
    remaining = order.checkout.total - order.refunded_total
    if amount < 0 or amount > remaining:
        # The v3 refunds controller passes a bare number as error data, so WordPress answers 500 (spec §3.3).
        raise error("woocommerce_rest_cannot_create_order_refund", "Invalid refund amount.", 500, bare_data=True)
    return StoredRefund(id=refund_id, order_id=order.id, amount=amount, reason=str(payload.get("reason", "")),
                        created=now, lines=lines, tax_lines=_tax_lines(shop, lines, ids))
    # refunded_payment stays False: the sandbox has no payment gateway to call, whatever api_refund says.


def _refund_line(order: StoredOrder, raw: Mapping[str, Any], ids: Ids) -> tuple[dict[str, Any], Decimal] | None:
    item_id = int(raw["id"])
    qty = int(raw.get("quantity") or 0)
    net = _dec(raw.get("refund_total"))
    taxes = {int(t["id"]): _dec(t.get("refund_total")) for t in raw.get("refund_tax") or []}
    tax = sum(taxes.values(), ZERO)
    meta = [{"id": ids.meta_id(), "key": "_refunded_item_id", "value": str(item_id),
             "display_key": "_refunded_item_id", "display_value": str(item_id)}]
    tax_json = [{"id": k, "total": fmt_money(-v), "subtotal": fmt_money(-v)} for k, v in taxes.items()]
    common = {"_refunded_item_id": item_id, "_taxes": taxes}
    if item_id in order.line_ids:
        base = line_item_json(ids.item(), order.line(item_id), meta)
        base.update(quantity=-qty, subtotal=fmt_money(-net), subtotal_tax=fmt_money(-tax), total=fmt_money(-net),
                    total_tax=fmt_money(-tax), taxes=tax_json, price=php_float(float(net) / qty) if qty else 0)
        return {"kind": "line_items", **common, **base}, net + tax
    if item_id in order.shipping_ids:
        ship = order.checkout.shipping[order.shipping_ids.index(item_id)]
        body = {"id": ids.item(), "method_title": ship.method_title, "method_id": ship.method_id,
                "instance_id": ship.instance_id, "total": fmt_money(-net), "total_tax": fmt_money(-tax),
                "taxes": [dict(t, subtotal="") for t in tax_json], "tax_status": "taxable", "meta_data": meta}
        return {"kind": "shipping_lines", **common, **body}, net + tax
    if item_id in order.fee_ids:
        fee = order.checkout.fees[order.fee_ids.index(item_id)]
        body = {"id": ids.item(), "name": fee.name, "tax_class": fee.tax_class, "tax_status": fee.tax_status,
                "amount": "", "total": fmt_money(-net), "total_tax": fmt_money(-tax),
                "taxes": [dict(t, subtotal="") for t in tax_json], "meta_data": meta}
        return {"kind": "fee_lines", **common, **body}, net + tax
    return None


def _tax_lines(shop: Shop, lines: list[dict[str, Any]], ids: Ids) -> list[dict[str, Any]]:
    cart: dict[int, Decimal] = {}
    shipping: dict[int, Decimal] = {}
    for line in lines:
        target = shipping if line["kind"] == "shipping_lines" else cart
        for rate_id, amount in line["_taxes"].items():
            target[rate_id] = target.get(rate_id, ZERO) + amount
    out = []
    for rate_id in list(cart) + [k for k in shipping if k not in cart]:
        rate = shop.rate(rate_id)
        out.append({"id": ids.item(), "rate_code": rate.rate_code, "rate_id": rate.id, "label": rate.name,
                    "compound": rate.compound, "tax_total": fmt_money(-cart.get(rate_id, ZERO)),
                    "shipping_tax_total": fmt_money(-shipping.get(rate_id, ZERO)),
                    "rate_percent": php_float(rate.rate), "meta_data": []})
    return out


def is_fully_refunded(order: StoredOrder) -> bool:
    """WooCommerce sets ``refunded`` only when no amount remains and no free item is left unrefunded."""
    if order.checkout.total - order.refunded_total > 0:
        return False
    refunded_qty: dict[int, int] = {}
    for refund in order.refunds:
        for line in refund.lines:
            if line["kind"] == "line_items":
                key = int(line["_refunded_item_id"])
                refunded_qty[key] = refunded_qty.get(key, 0) - int(line["quantity"])
    return not any(line.total == 0 and line.quantity > refunded_qty.get(item_id, 0)
                   for item_id, line in zip(order.line_ids, order.checkout.lines, strict=True))


def render_refund(refund: StoredRefund, home: str, *, with_parent: bool = False) -> dict[str, Any]:
    api = f"{home}wp-json/wc/v3/orders/{refund.order_id}"
    head: dict[str, Any] = {"id": refund.id}
    if with_parent:
        head["parent_id"] = refund.order_id
    body = {
        "date_created": local(refund.created), "date_created_gmt": gmt(refund.created),
        "amount": fmt_money(refund.amount), "reason": refund.reason, "refunded_by": refund.refunded_by,
        "refunded_payment": refund.refunded_payment, "meta_data": [],
        "line_items": _public(refund, "line_items"), "shipping_lines": _public(refund, "shipping_lines"),
        "tax_lines": [dict(t) for t in refund.tax_lines], "fee_lines": _public(refund, "fee_lines"),
        "_links": {"self": [{"href": f"{api}/refunds/{refund.id}", "targetHints": {"allow": ["GET", "DELETE"]}}],
                   "collection": [{"href": f"{api}/refunds"}], "up": [{"href": api}]},
    }
    return head | body


def _public(refund: StoredRefund, kind: str) -> list[dict[str, Any]]:
    return [{k: v for k, v in line.items() if k not in ("kind", "_refunded_item_id", "_taxes")}
            for line in refund.lines if line["kind"] == kind]


def full_refund_payload(order: StoredOrder, reason: str = "") -> dict[str, Any]:
    """A REST refund body returning everything not yet refunded (all lines, shipping, fees, their VAT)."""
    from agent.sandbox.woo.taxes import round_tax_total

    def tax(taxes: Mapping[int, Decimal]) -> list[dict[str, str]]:
        return [{"id": str(k), "refund_total": str(round_tax_total(v, prices_include_tax=True))}
                for k, v in taxes.items()]

    c = order.checkout
    lines: list[dict[str, Any]] = [
        {"id": i, "quantity": line.quantity, "refund_total": fmt_money(line.total), "refund_tax": tax(line.taxes)}
        for i, line in zip(order.line_ids, c.lines, strict=True)
    ]
    lines += [{"id": i, "refund_total": fmt_money(s.total), "refund_tax": tax(s.taxes)}
              for i, s in zip(order.shipping_ids, c.shipping, strict=True)]
    lines += [{"id": i, "refund_total": fmt_money(f.total), "refund_tax": tax(f.taxes)}
              for i, f in zip(order.fee_ids, c.fees, strict=True)]
    remaining = c.total - order.refunded_total
    return {"amount": fmt_money(remaining), "reason": reason, "api_refund": False,
            "line_items": lines if not order.refunds else []}
