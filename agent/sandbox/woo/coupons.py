"""WooCommerce coupon discounts (``WC_Discounts`` of WC 10.0.2), pure and in cents.

The discount is computed on each line's price *including* its (rounded) subtotal tax when the shop
enters prices incl. tax, in cents, then split into net + tax by the caller. Percent coupons floor
per line and spread the remainder one cent at a time; fixed-cart coupons split equally per unit
(not in proportion to price), floored to the cent, capped at what is left of each unit, and spread
the rest again (spec §11.6).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, ROUND_HALF_DOWN, ROUND_HALF_UP, Decimal

ZERO = Decimal("0")
_CENTS = Decimal("100")
_FOUR = Decimal("0.0001")


def to_cents(value: Decimal) -> Decimal:
    """``wc_add_number_precision``: times 100, kept at 4 decimals."""
    return (value * _CENTS).quantize(_FOUR, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Coupon:
    """A coupon as configured in the shop; ``amount`` is incl. tax when the shop's prices are."""

    id: int
    code: str
    discount_type: str  # percent | fixed_cart | fixed_product
    amount: Decimal
    free_shipping: bool = False


@dataclass
class DiscountItem:
    """One order line as ``WC_Discounts`` sees it."""

    key: int
    quantity: int
    price: Decimal  # line price in cents (subtotal [+ subtotal tax])
    applied: Decimal = ZERO

    @property
    def left(self) -> Decimal:
        return self.price - self.applied


@dataclass
class Discounts:
    """Result: ``by_coupon[code][item key]`` in cents."""

    items: list[DiscountItem]
    by_coupon: dict[str, dict[int, Decimal]] = field(default_factory=dict)

    def add(self, code: str, item: DiscountItem, cents: Decimal) -> None:
        item.applied += cents
        per_item = self.by_coupon.setdefault(code, {})
        per_item[item.key] = per_item.get(item.key, ZERO) + cents

    def per_item(self) -> dict[int, Decimal]:
        """Discount per item over all coupons, in currency units (not cents)."""
        out: dict[int, Decimal] = {}
        for per in self.by_coupon.values():
            for key, cents in per.items():
                out[key] = out.get(key, ZERO) + cents / _CENTS
        return out


def apply_coupons(items: list[DiscountItem], coupons: list[Coupon]) -> Discounts:
    # WC_Discounts sorts by price * quantity (price is already the line price; the square is WooCommerce's).
    ordered = sorted(items, key=lambda i: i.price * i.quantity, reverse=True)
    discounts = Discounts(ordered)
    for coupon in coupons:
        discounts.by_coupon.setdefault(coupon.code, {i.key: ZERO for i in ordered})
        targets = [i for i in ordered if i.left != 0 and i.quantity > 0]
        amount = to_cents(coupon.amount)
        if coupon.discount_type == "percent":
            _percent(discounts, coupon.code, targets, coupon.amount)
        elif coupon.discount_type == "fixed_product":
            _fixed_product(discounts, coupon.code, targets, amount)
        else:
            _fixed_cart(discounts, coupon.code, targets, amount)
    return discounts


def _percent(d: Discounts, code: str, items: list[DiscountItem], percent: Decimal) -> None:
    total = ZERO
    base = ZERO
    for item in items:
        price = item.price.quantize(Decimal(1), rounding=ROUND_HALF_UP)
        cents = (price * percent / _CENTS).quantize(Decimal(1), rounding=ROUND_FLOOR)
        cents = min(item.left, cents).quantize(Decimal(1), rounding=ROUND_HALF_DOWN)
        base += price
        total += cents
        d.add(code, item, cents)
    whole = (base * percent / _CENTS).quantize(Decimal(1), rounding=ROUND_HALF_DOWN)
    if total < whole:
        _remainder(d, code, items, whole - total)


def _fixed_product(d: Discounts, code: str, items: list[DiscountItem], amount: Decimal) -> Decimal:
    total = ZERO
    for item in items:
        cents = min(item.left, amount * item.quantity)
        total += cents
        d.add(code, item, cents)
    return total


def _fixed_cart(d: Discounts, code: str, items: list[DiscountItem], amount: Decimal) -> Decimal:
    items = [i for i in items if i.left > 0]
    count = sum(i.quantity for i in items)
    if not count or amount <= 0:
        return ZERO
    per_unit = (amount / count).quantize(Decimal(1), rounding=ROUND_FLOOR)
    if per_unit <= 0:
        return _remainder(d, code, items, amount)
    total = _fixed_product(d, code, items, per_unit)
    if 0 < total < amount:
        total += _fixed_cart(d, code, items, amount - total)
    return total


def _remainder(d: Discounts, code: str, items: list[DiscountItem], amount: Decimal) -> Decimal:
    total = ZERO
    for item in items:
        for _ in range(item.quantity):
            cents = min(item.left, Decimal(1))
            total += cents
            d.add(code, item, cents)
            if total >= amount:
                return total
    return total
