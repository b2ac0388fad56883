"""Order and refund shapes for the planner tests: small cart specs → WooCommerce REST JSON.

:func:`build_order` builds each shape through the WooCommerce sandbox's checkout arithmetic
(``agent.sandbox.woo.checkout`` via ``agent.sandbox.woo.orderjson``): a DKK shop, prices entered incl. 25 % DK VAT,
tax by shipping country, "round tax at subtotal" off. :func:`order_json` is an independent
hand-written reading of woocommerce.md §11 kept as a cross-check: both must agree on every shape,
and both reproduce the captured real orders 17 and 19 to the øre (test_render_and_rules.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_FLOOR, ROUND_HALF_DOWN, ROUND_HALF_UP, Decimal
from typing import Any

from agent.sandbox.woo.checkout import Product, Shop, ShopSettings
from agent.sandbox.woo.coupons import Coupon as WooCoupon
from agent.sandbox.woo.orderjson import order_json as woo_order_json
from agent.sandbox.woo.taxes import TaxRate
from agent.woo.models import Order, Refund

D = Decimal
CENT = D("0.01")
# rate id, country, tax class, percent, rate_code, label (the shop's tax table)
RATES = [
    (1, "DK", "", D(25), "DK-MOMS-1", "Moms"),
    (2, "DE", "", D(19), "DE-MWST.-1", "MwSt."),
    (3, "SE", "", D(25), "SE-MOMS-1", "Moms"),
    (4, "FR", "", D(20), "FR-TVA-1", "TVA"),
    (5, "DK", "zero-rate", D(0), "DK-MOMS 0%-1", "Momsfri"),
    (6, "DK", "reduced-rate", D("12.5"), "DK-REDUCERET-1", "Reduceret"),
    (7, "DE", "zero-rate", D(0), "DE-NULL-1", "Null"),
    # OSS reduced rates (books, food): what a real shop with OSS sets up per country and class
    (8, "DE", "reduced-rate", D(7), "DE-MWST. ERM.-1", "MwSt. ermäßigt"),
    (9, "FR", "reduced-rate", D("5.5"), "FR-TVA RÉDUITE-1", "TVA réduite"),
    (10, "SE", "reduced-rate", D(6), "SE-MOMS 6%-1", "Moms 6%"),
    (11, "NL", "", D(21), "NL-BTW-1", "BTW"),
    (12, "NL", "reduced-rate", D(9), "NL-BTW LAAG-1", "BTW laag"),
    (13, "FR", "zero-rate", D(0), "FR-TVA 0%-1", "TVA 0%"),
    # a rate the shipped EU table does not know (DE has no 5 %): must be held, never guessed
    (14, "DE", "odd-rate", D(5), "DE-ODD-1", "Odd"),
]
BASE = "DK"
NOW = datetime(2026, 11, 24, 5, 59, tzinfo=UTC)


def rate_for(country: str, tax_class: str) -> tuple[int, D, str, str] | None:
    for rid, cc, cls, pct, code, label in RATES:
        if cc == country and cls == tax_class:
            return rid, pct, code, label
    return None


def half_up(x: D) -> D:
    return x.quantize(CENT, rounding=ROUND_HALF_UP)


def half_down(x: D) -> D:
    return x.quantize(CENT, rounding=ROUND_HALF_DOWN)


def money(x: D) -> str:
    return str(half_up(x))


@dataclass
class Item:
    name: str
    price: str  # catalogue price incl. base-country VAT
    qty: int = 1
    sku: str | None = "SKU"
    tax_class: str = ""
    variation_id: int = 0
    parent_name: str | None = None


@dataclass
class Coupon:
    code: str
    kind: str  # percent | fixed_cart | fixed_product
    amount: str


@dataclass
class Cart:
    items: list[Item]
    coupons: list[Coupon] = field(default_factory=list)
    shipping: list[tuple[str, str]] = field(default_factory=list)  # (title, net)
    fees: list[tuple[str, str, bool]] = field(default_factory=list)  # (name, net, taxable)
    country: str = "DK"
    status: str = "processing"
    payment_method: str = "stripe"
    currency: str = "DKK"
    meta: dict[str, str] = field(default_factory=dict)
    company: str = ""
    customer_id: int = 0
    created_via: str = "checkout"
    paid: bool = True
    order_id: int = 100
    email: str = "kunde@example.com"
    # the second shop configuration: prices entered excl. VAT, "round tax at subtotal" on
    excl: bool = False


def _discounts(cart: Cart) -> list[D]:
    """Per-line discount incl. VAT in kroner, coupon by coupon (woocommerce.md §11.6)."""
    left = [D(i.price) * i.qty for i in cart.items]
    total = [D(0)] * len(cart.items)
    for coupon in cart.coupons:
        amount = D(coupon.amount)
        for n, item in enumerate(cart.items):
            if coupon.kind == "percent":
                cut = half_up(left[n] * amount / 100)
            elif coupon.kind == "fixed_product":
                cut = min(amount, D(item.price)) * item.qty
            else:
                continue
            left[n] -= cut
            total[n] += cut
        if coupon.kind == "fixed_cart":
            cuts = _fixed_cart(cart, left, amount)
            left = [a - c for a, c in zip(left, cuts, strict=True)]
            total = [a + c for a, c in zip(total, cuts, strict=True)]
    return total


def _fixed_cart(cart: Cart, left: list[D], amount: D) -> list[D]:
    """Equal per unit (not by price), floored to the øre, capped at the unit's price, remainder spread."""
    units = [(n, left[n] / item.qty) for n, item in enumerate(cart.items) for _ in range(item.qty)]
    amount = min(amount, sum(left, D(0)))
    got = [D(0)] * len(units)
    remaining = amount
    while remaining > 0:
        open_ = [u for u in range(len(units)) if got[u] < units[u][1]]
        share = (remaining / len(open_)).quantize(CENT, rounding=ROUND_FLOOR) or CENT
        for u in open_:
            take = min(share, units[u][1] - got[u], remaining)
            got[u] += take
            remaining -= take
    cuts = [D(0)] * len(cart.items)
    for u, (n, _) in enumerate(units):
        cuts[n] += got[u]
    return cuts


def build_order(cart: Cart) -> Order:
    return Order.model_validate(sandbox_json(cart))


def sandbox_shop(cart: Cart) -> Shop:
    products = {10 + n: Product(id=10 + n, name=i.name, price=D(i.price), sku=i.sku or "", tax_class=i.tax_class,
                                parent_name=i.parent_name) for n, i in enumerate(cart.items)}
    coupons = {c.code: WooCoupon(id=70 + n, code=c.code, discount_type=c.kind, amount=D(c.amount))
               for n, c in enumerate(cart.coupons)}
    rates = tuple(TaxRate(id=rid, country=cc, rate=pct, name=label, tax_class=cls)
                  for rid, cc, cls, pct, _, label in RATES)
    shop = ShopSettings(currency=cart.currency, prices_include_tax=not cart.excl, round_at_subtotal=cart.excl,
                        tax_classes=("reduced-rate", "zero-rate", "odd-rate"))
    return Shop(settings=shop, rates=rates, products=products, coupons=coupons)


def sandbox_json(cart: Cart) -> dict[str, Any]:
    """The order as the sandbox creates it, then paid/dated the way the shape says."""
    address = {"first_name": "Mette", "last_name": "Jensen", "company": cart.company, "address_1": "Gaden 1",
               "city": "By", "postcode": "1000", "country": cart.country}
    request = {
        "status": cart.status, "payment_method": cart.payment_method, "customer_id": cart.customer_id,
        "created_via": cart.created_via, "billing": {**address, "email": cart.email, "phone": "+45 12345678"},
        "shipping": address, "meta_data": [{"key": k, "value": v} for k, v in cart.meta.items()],
        "line_items": [{"product_id": 10 + n, "quantity": i.qty} for n, i in enumerate(cart.items)],
        "coupon_lines": [{"code": c.code} for c in cart.coupons],
        "shipping_lines": [{"method_id": "flat_rate", "method_title": t, "total": net} for t, net in cart.shipping],
        "fee_lines": [{"name": name, "total": net, "tax_status": "taxable" if taxable else "none"}
                      for name, net, taxable in cart.fees],
    }
    data = woo_order_json(sandbox_shop(cart), request, order_id=cart.order_id, now=lambda: NOW)
    paid = "2026-11-24T06:00:00" if cart.paid else None
    data.update(date_paid_gmt=paid, date_completed_gmt=paid if cart.status == "completed" else None)
    return data


def order_json(cart: Cart) -> dict[str, Any]:
    exempt = cart.meta.get("is_vat_exempt") == "yes"
    taxes: dict[int, dict[str, D]] = {}
    next_id = iter(range(1, 1000))

    def tax(rid: int, amount: D, key: str) -> D:
        entry = taxes.setdefault(rid, {"tax": D(0), "ship": D(0)})
        entry[key] += half_down(amount)  # per-line rounding of the tax, half down (§11.4)
        return amount

    def item_taxes(country: str, cls: str, net: D, key: str) -> tuple[list[dict[str, Any]], D, D]:
        found = None if exempt else rate_for(country, cls)
        if found is None:
            return [], D(0), D(0)
        rid, pct, _, _ = found
        amount = tax(rid, net * pct / 100, key)
        return [{"id": rid, "total": money(amount), "subtotal": ""}], amount, pct

    lines, net_sum, disc_net, disc_tax = [], D(0), D(0), D(0)
    for item, cut in zip(cart.items, _discounts(cart), strict=True):
        base = rate_for(BASE, item.tax_class)
        base_pct = base[1] if base else D(0)
        before = D(item.price) * item.qty * 100 / (100 + base_pct)  # base-country net, unrounded (§11.1/2)
        net = before - cut * 100 / (100 + base_pct)
        tx, amount, pct = item_taxes(cart.country, item.tax_class, net, "tax")
        amount_before = before * pct / 100
        for t in tx:
            t["subtotal"] = money(amount_before)
        lines.append({
            "id": next(next_id), "name": item.name, "product_id": 10 + len(lines), "variation_id": item.variation_id,
            "quantity": item.qty, "tax_class": item.tax_class, "subtotal": money(before),
            "subtotal_tax": str(half_down(amount_before)), "total": money(net), "total_tax": str(half_down(amount)),
            "taxes": tx, "meta_data": [], "sku": item.sku, "price": net / item.qty if item.qty else 0,
            "parent_name": item.parent_name,
        })  # fmt: skip
        net_sum += half_up(net)
        disc_net += half_up(before) - half_up(net)
        disc_tax += half_down(amount_before) - half_down(amount)

    shipping_lines, ship_net = [], D(0)
    for title, net in cart.shipping:
        tx, amount, _ = item_taxes(cart.country, "", D(net), "ship")
        shipping_lines.append({"id": next(next_id), "method_title": title, "method_id": "flat_rate",
                               "total": net, "total_tax": str(half_down(amount)), "taxes": tx, "meta_data": []})  # fmt: skip
        ship_net += D(net)

    fee_lines, fee_net = [], D(0)
    for name, net, taxable in cart.fees:
        tx, amount, _ = item_taxes(cart.country, "", D(net), "tax") if taxable else ([], D(0), D(0))
        fee_lines.append({"id": next(next_id), "name": name, "tax_class": "", "tax_status": "taxable" if taxable
                          else "none", "total": money(D(net)), "total_tax": str(half_down(amount)), "taxes": tx,
                          "meta_data": []})  # fmt: skip
        fee_net += D(net)  # a fee's unrounded net enters the total (§11.7)

    cart_tax = sum((t["tax"] for t in taxes.values()), D(0))
    ship_tax = sum((t["ship"] for t in taxes.values()), D(0))
    total = half_up(net_sum + fee_net + ship_net + cart_tax + ship_tax)
    tax_lines = []
    for rid, t in sorted(taxes.items()):
        _, _, _, pct, code, label = next(r for r in RATES if r[0] == rid)
        tax_lines.append({"id": next(next_id), "rate_code": code, "rate_id": rid, "label": label, "compound": False,
                          "tax_total": str(t["tax"]), "shipping_tax_total": str(t["ship"]), "rate_percent": pct})  # fmt: skip
    coupon_lines = [{"id": next(next_id), "code": c.code, "discount": str(disc_net), "discount_tax": str(disc_tax),
                     "discount_type": c.kind, "nominal_amount": D(c.amount)} for c in cart.coupons]  # fmt: skip
    address = {"first_name": "Mette", "last_name": "Jensen", "company": cart.company, "address_1": "Gaden 1",
               "city": "By", "postcode": "1000", "country": cart.country}  # fmt: skip
    paid = "2026-11-24T06:00:00" if cart.paid else None
    return {
        "id": cart.order_id, "number": str(cart.order_id), "status": cart.status, "currency": cart.currency,
        "prices_include_tax": True, "discount_total": str(disc_net), "discount_tax": str(disc_tax),
        "shipping_total": str(ship_net), "shipping_tax": str(ship_tax), "cart_tax": str(cart_tax),
        "total": str(total), "total_tax": str(cart_tax + ship_tax), "customer_id": cart.customer_id,
        "billing": {**address, "email": cart.email, "phone": "+45 12345678"}, "shipping": address,
        "payment_method": cart.payment_method, "created_via": cart.created_via,
        "meta_data": [{"id": n + 1, "key": k, "value": v} for n, (k, v) in enumerate(cart.meta.items())],
        "line_items": lines, "tax_lines": tax_lines, "shipping_lines": shipping_lines, "fee_lines": fee_lines,
        "coupon_lines": coupon_lines, "date_created_gmt": "2026-11-24T05:59:00", "date_paid_gmt": paid,
        "date_completed_gmt": paid if cart.status == "completed" else None,
    }  # fmt: skip


def build_refund(order: Order, refund_id: int, *, items: dict[int, int] | None = None,
                 shipping: tuple[int, ...] = (), fees: tuple[int, ...] = (), amount: str | None = None,
                 reason: str = "") -> Refund:  # fmt: skip
    """A refund as WooCommerce stores it (§3.2, §11.12): negative copies of the refunded lines."""
    lines, ship, fee_out, per_rate = [], [], [], {}

    def taxes_of(src: Any, frac: D, key: str) -> tuple[list[dict[str, Any]], D]:
        out, total = [], D(0)
        for t in src.taxes:
            amount_ = half_up(t.total * frac)
            rate = per_rate.setdefault(t.id, {"tax": D(0), "ship": D(0)})
            rate[key] -= amount_
            out.append({"id": t.id, "total": str(-amount_), "subtotal": str(-amount_)})
            total += amount_
        return out, total

    gross = D(0)
    for item in order.line_items:
        q = (items or {}).get(item.id)
        if q:
            frac = D(q) / item.quantity
            tx, tax_amount = taxes_of(item, frac, "tax")
            net = half_up(item.total * frac)
            gross += net + tax_amount
            lines.append({"id": 900 + item.id, "name": item.name, "quantity": -q, "total": str(-net),
                          "subtotal": str(-net), "total_tax": str(-tax_amount), "taxes": tx, "sku": item.sku,
                          "meta_data": [{"key": "_refunded_item_id", "value": str(item.id)}]})  # fmt: skip
    for group, wanted, out, key in ((order.shipping_lines, shipping, ship, "ship"), (order.fee_lines, fees, fee_out, "tax")):
        for line in group:
            if line.id in wanted:
                tx, tax_amount = taxes_of(line, D(1), key)
                gross += line.total + tax_amount
                out.append({"id": 900 + line.id, "total": str(-line.total), "total_tax": str(-tax_amount),
                            "taxes": tx, "meta_data": [{"key": "_refunded_item_id", "value": str(line.id)}]})  # fmt: skip
    tax_lines = [{"id": 950 + rid, "rate_id": rid, "rate_code": next(r[4] for r in RATES if r[0] == rid),
                  "tax_total": str(t["tax"]), "shipping_tax_total": str(t["ship"]),
                  "rate_percent": next(r[3] for r in RATES if r[0] == rid)} for rid, t in per_rate.items()]  # fmt: skip
    return Refund.model_validate({
        "id": refund_id, "parent_id": order.id, "amount": amount if amount is not None else str(gross),
        "reason": reason, "date_created_gmt": "2026-11-25T10:00:00", "line_items": lines, "shipping_lines": ship,
        "fee_lines": fee_out, "tax_lines": tax_lines,
    })  # fmt: skip
