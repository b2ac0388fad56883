"""The two sides of a reconciliation as plain values: what the shop sold and refunded, what the books hold.

Both are built from the outside systems by :mod:`.gather` and compared by :mod:`.compare`; nothing here
does I/O. Amounts are positive for invoices and credit notes alike (a credit note's total is what it
gives back), so sums over a period subtract credit notes explicitly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from agent.reconcile.places import VatPlace, plain_rate

ZERO = Decimal(0)
DocKind = Literal["invoice", "creditnote"]


def work_key(order_id: int | str) -> str:
    """Every document of an order is handled by the order's work item."""
    return f"order:{order_id}"


def by_rate(pairs: Iterable[tuple[Decimal, Decimal]]) -> dict[Decimal, Decimal]:
    """Sum VAT per rate (percent, normalised), leaving out rates that carry no VAT."""
    out: dict[Decimal, Decimal] = {}
    for rate, vat in pairs:
        key = plain_rate(rate)
        out[key] = out.get(key, ZERO) + vat
    return {k: v for k, v in out.items() if v != 0}


@dataclass(frozen=True)
class ShopDoc:
    """An order to be invoiced or a refund to be credited, as WooCommerce reports it."""

    kind: DocKind
    woo_id: int
    order_id: int
    number: str  # the shop's order number
    date: str  # ISO, GMT: the date the agent puts on the document
    customer: str
    currency: str
    total: Decimal
    vat: Decimal | None  # None: the shop states no VAT (an amount-only refund)
    vat_by_rate: Mapping[Decimal, Decimal] = field(default_factory=dict)
    reference: str = ""  # the reference this shop's agent puts on the document (shown in differences)

    @property
    def key(self) -> str:
        """What the document is for: books and shop are matched by this, not by the reference's text."""
        return f"{self.kind}:{self.woo_id}"


@dataclass(frozen=True)
class BookLine:
    place: VatPlace
    net: Decimal
    vat: Decimal


@dataclass(frozen=True)
class BookDoc:
    """An invoice or credit note in Dynaccount."""

    kind: DocKind
    dyn_id: int
    number: int | None
    reference: str
    date: int | None  # Unix seconds
    currency: str
    booked: bool
    total: Decimal
    vat: Decimal
    lines: tuple[BookLine, ...] = ()
    order_id: int | None = None  # the order behind it: an invoice's reference, a credit note's invoice
    key: str | None = None  # "invoice:17" when the document is this shop's (see reconcile.naming), else None

    @property
    def vat_by_rate(self) -> dict[Decimal, Decimal]:
        return by_rate((ln.place.rate, ln.vat) for ln in self.lines)

    @property
    def ours(self) -> bool:
        """Made by this shop's agent; other documents (by hand, another shop's) are counted, not matched."""
        return self.key is not None
