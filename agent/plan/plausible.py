"""Plausibility of an order before anything is planned from it (issue 11 item 7). Pure.

Two outcomes besides "plausible": numbers no real order can carry (not a number, infinite, beyond
10^12) raise :class:`ImplausibleOrder`, which fails the item with its reason; a real-looking order
outside the owner's bounds (a negative quantity, a huge total) is *held* with a reason a bookkeeper can
act on, and nothing is booked. Totals that do not add up are held by the planner's own settlement
(:func:`agent.plan.totals.settle`: the invoice stays a draft naming both figures).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agent.woo.models import Order, Refund

ABSURD = Decimal(10) ** 12  # beyond any shop's money: not an amount, a broken record
SETTING = "[plausibility]"


class ImplausibleOrder(Exception):
    """An order whose numbers cannot be money; the message is shown on the failed item."""


class PlausibilitySettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    max_order_total: Decimal = Field(
        Decimal("250000"), gt=0, description="Orders above this total (in the order's currency) are held."
    )
    max_quantity: int = Field(10_000, ge=1, description="Order lines with a larger quantity are held.")


def _decimals(value: Any, path: str) -> Iterator[tuple[str, Decimal]]:
    if isinstance(value, Decimal):
        yield path, value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _decimals(getattr(value, name), f"{path}.{name}" if path else name)
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from _decimals(item, f"{path}[{i}]")


def _check_numbers(order: Order, refunds: tuple[Refund, ...], *, absurd: bool) -> None:
    """Raise :class:`ImplausibleOrder` for a number that cannot be money (never an InvalidOperation later)."""
    number = order.number or order.id
    for label, model in [("order", order), *((f"refund {r.id}", r) for r in refunds)]:
        for path, value in _decimals(model, ""):
            if not value.is_finite():
                raise ImplausibleOrder(f"order {number}: {label} field {path} is {value}, not a number; "
                                       "the order must be corrected in WooCommerce")  # fmt: skip
            if absurd and abs(value) >= ABSURD:
                raise ImplausibleOrder(f"order {number}: {label} field {path} is {value:,.2f}, beyond any real "
                                       "amount; the order must be corrected in WooCommerce")  # fmt: skip


def check_numbers(order: Order, refunds: tuple[Refund, ...]) -> None:
    """Only the numbers (credit notes: the order was screened when it was invoiced)."""
    _check_numbers(order, refunds, absurd=True)


def _negative(order: Order) -> str | None:
    """WooCommerce puts negative amounts only on fees (discounts are positive numbers, refunds separate)."""
    for item in order.line_items:
        for name in ("subtotal", "subtotal_tax", "total", "total_tax"):
            if getattr(item, name) < 0:
                return f"line {item.name!r} has a negative {name} ({getattr(item, name)})"
    for line in order.shipping_lines:
        if line.total < 0 or line.total_tax < 0:
            return f"shipping {line.method_title!r} is negative ({line.total})"
    for name in ("total", "total_tax", "discount_total", "shipping_total"):
        if getattr(order, name) < 0:
            return f"the order's {name} is negative ({getattr(order, name)})"
    return None


def _quantity(order: Order, limit: int) -> str | None:
    for item in order.line_items:
        qty = item.quantity
        if qty != qty.to_integral_value():
            return f"line {item.name!r} has quantity {qty}, not a whole number"
        if qty < 1:
            return f"line {item.name!r} has quantity {qty}; WooCommerce orders carry 1 or more of each line"
        if qty > limit:
            return f"line {item.name!r} has quantity {qty:,}, above {SETTING} max_quantity = {limit:,}"
    return None


def screen(order: Order, refunds: tuple[Refund, ...], settings: PlausibilitySettings) -> str | None:
    """Why this order must wait for a person before anything is booked, or None; raises
    :class:`ImplausibleOrder` when its numbers cannot be money. A quantity out of bounds is named
    before the absurd amounts it causes (it is the mistake a person made)."""
    _check_numbers(order, refunds, absurd=False)
    reason = _quantity(order, settings.max_quantity)
    if reason is None:
        _check_numbers(order, refunds, absurd=True)
        reason = _negative(order)
    if reason is None and order.total > settings.max_order_total:
        reason = (f"its total {order.total:,.2f} {order.currency} is above {SETTING} max_order_total = "
                  f"{settings.max_order_total:,.2f}")  # fmt: skip
    if reason is None:
        return None
    return f"order {order.number or order.id} held as implausible: {reason}; check it in WooCommerce"
