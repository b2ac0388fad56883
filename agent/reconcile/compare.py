"""Shop beside books for one period: every order without its document, every document without its
order, every amount that differs, and the sums a bookkeeper checks (per currency, per VAT code)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Literal

from agent.reconcile.documents import ZERO, BookDoc, DocKind, ShopDoc, work_key

DifferenceKind = Literal["missing", "extra", "duplicate", "amount", "date", "draft"]
WHAT = {"invoice": "invoice", "creditnote": "credit note"}


@dataclass(frozen=True)
class Difference:
    kind: DifferenceKind
    reference: str
    order_id: int | None
    message: str

    @property
    def work_key(self) -> str | None:
        return work_key(self.order_id) if self.order_id is not None else None


@dataclass
class CurrencyTotals:
    currency: str
    shop_sales: Decimal = ZERO
    shop_refunds: Decimal = ZERO
    book_invoices: Decimal = ZERO
    book_credits: Decimal = ZERO

    @property
    def agrees(self) -> bool:
        return self.shop_sales == self.book_invoices and self.shop_refunds == self.book_credits


@dataclass
class CodeTotals:
    """One VAT code over the period: invoices minus credit notes."""

    code: str
    country: str
    rate: Decimal
    net: Decimal = ZERO
    vat: Decimal = ZERO


@dataclass(frozen=True)
class Counts:
    orders: int
    refunds: int
    invoices: int
    creditnotes: int
    other_documents: int  # documents this shop's agent did not make (by hand, another shop's)


@dataclass(frozen=True)
class Report:
    start: date
    end: date  # exclusive
    counts: Counts
    currencies: list[CurrencyTotals]
    codes: list[CodeTotals]
    differences: list[Difference] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences


def _amount_differences(shop: ShopDoc, book: BookDoc) -> list[str]:
    what = f"{WHAT[shop.kind]} {book.number or f'id {book.dyn_id}'}"
    found = []
    if shop.total != book.total:
        found.append(f"{what}: total {book.total} {book.currency} vs WooCommerce {shop.total} {shop.currency}")
    if shop.currency != book.currency:
        found.append(f"{what}: currency {book.currency} vs WooCommerce {shop.currency}")
    if shop.vat is not None and shop.vat != book.vat:
        found.append(f"{what}: VAT {book.vat} vs WooCommerce {shop.vat}")
    if shop.vat is not None:
        theirs, ours = dict(shop.vat_by_rate), book.vat_by_rate
        for rate in sorted(set(theirs) | set(ours)):
            if theirs.get(rate, ZERO) != ours.get(rate, ZERO):
                found.append(f"{what}: VAT at {rate} % {ours.get(rate, ZERO)} vs WooCommerce {theirs.get(rate, ZERO)}")
    return found


def _check_shop_doc(shop: ShopDoc, books: Sequence[BookDoc], elsewhere: Mapping[str, BookDoc]) -> list[Difference]:
    ref, what = shop.reference, WHAT[shop.kind]
    if not books:
        outside = elsewhere.get(shop.key)
        if outside is not None:
            msg = f"{what} {outside.number or outside.dyn_id} for {ref} is dated outside the period"
            return [Difference("date", ref, shop.order_id, msg)]
        msg = f"{ref}: no {what} in Dynaccount for {shop.total} {shop.currency} dated {shop.date[:10]}"
        return [Difference("missing", ref, shop.order_id, msg)]
    out = []
    if len(books) > 1:
        numbers = ", ".join(str(b.number or f"id {b.dyn_id}") for b in books)
        out.append(Difference("duplicate", ref, shop.order_id, f"{ref}: {len(books)} {what}s ({numbers})"))
    book = next((b for b in books if b.booked), books[0])
    out += [Difference("amount", ref, shop.order_id, m) for m in _amount_differences(shop, book)]
    if not book.booked:
        out.append(Difference("draft", ref, shop.order_id, f"{what} id {book.dyn_id} for {ref} is not booked"))
    return out


def _extra(book: BookDoc, shop_elsewhere: Mapping[str, ShopDoc]) -> Difference:
    what = f"{WHAT[book.kind]} {book.number or f'id {book.dyn_id}'}"
    outside = shop_elsewhere.get(book.key or "")
    if outside is not None:
        msg = f"{what} ({book.reference}) is in the period, WooCommerce dates it {outside.date[:10]}"
        return Difference("date", book.reference, book.order_id, msg)
    msg = f"{what} ({book.reference}, {book.total} {book.currency}): WooCommerce has no such "
    msg += "order to invoice" if book.kind == "invoice" else "refund"
    return Difference("extra", book.reference, book.order_id, msg)


def differences(shop: Sequence[ShopDoc], books: Sequence[BookDoc], *, books_elsewhere: Mapping[str, BookDoc],
                shop_elsewhere: Mapping[str, ShopDoc]) -> list[Difference]:  # fmt: skip
    """Books and shop matched by what a document is for (``key``); the elsewhere maps are keyed alike."""
    by_key: dict[str, list[BookDoc]] = {}
    for book in books:
        if book.key is not None:
            by_key.setdefault(book.key, []).append(book)
    out: list[Difference] = []
    expected = set()
    for doc in shop:
        expected.add(doc.key)
        out += _check_shop_doc(doc, by_key.get(doc.key, []), books_elsewhere)
    out += [_extra(docs[0], shop_elsewhere) for key, docs in by_key.items() if key not in expected]
    return out


def currency_totals(shop: Sequence[ShopDoc], books: Sequence[BookDoc]) -> list[CurrencyTotals]:
    totals: dict[str, CurrencyTotals] = {}
    for doc in shop:
        t = totals.setdefault(doc.currency, CurrencyTotals(doc.currency))
        if doc.kind == "invoice":
            t.shop_sales += doc.total
        else:
            t.shop_refunds += doc.total
    for book in books:
        if book.ours:
            t = totals.setdefault(book.currency, CurrencyTotals(book.currency))
            if book.kind == "invoice":
                t.book_invoices += book.total
            else:
                t.book_credits += book.total
    return [totals[c] for c in sorted(totals)]


def code_totals(books: Sequence[BookDoc]) -> list[CodeTotals]:
    codes: dict[str, CodeTotals] = {}
    for book in books:
        sign = 1 if book.kind == "invoice" else -1
        for line in book.lines:
            place = line.place
            t = codes.setdefault(place.code, CodeTotals(place.code, place.country, place.rate))
            t.net += sign * line.net
            t.vat += sign * line.vat
    return [codes[c] for c in sorted(codes)]


def count(shop: Sequence[ShopDoc], books: Sequence[BookDoc]) -> Counts:
    def n(docs: Sequence[ShopDoc] | Sequence[BookDoc], kind: DocKind) -> int:
        return sum(1 for d in docs if d.kind == kind and (not isinstance(d, BookDoc) or d.ours))

    return Counts(n(shop, "invoice"), n(shop, "creditnote"), n(books, "invoice"), n(books, "creditnote"),
                  sum(1 for b in books if not b.ours))  # fmt: skip


def reconcile(start: date, end: date, shop: Sequence[ShopDoc], books: Sequence[BookDoc], *,
              books_elsewhere: Mapping[str, BookDoc] | None = None,
              shop_elsewhere: Mapping[str, ShopDoc] | None = None) -> Report:  # fmt: skip
    """The report for [start, end): pure, so tests can plant any difference."""
    diffs = differences(shop, books, books_elsewhere=books_elsewhere or {}, shop_elsewhere=shop_elsewhere or {})
    return Report(start, end, count(shop, books), currency_totals(shop, books), code_totals(books), diffs)
