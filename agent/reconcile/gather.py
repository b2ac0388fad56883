"""Read both sides of a period over the wire: WooCommerce's orders and refunds (REST), Dynaccount's
invoices and credit notes (API), and the documents or orders a difference points at outside the period.

Which orders the books should hold is the planner's own decision (``plan_invoice`` without I/O), so
the report follows the agent's rules (triggers, filters, refunded-after-paid) and never a copy of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal

from agent.dynaccount import assumptions as A
from agent.dynaccount.client import DynaccountClient
from agent.dynaccount.models import CreditNote, Invoice
from agent.journal import Journal
from agent.plan import PlanSettings, Skip, plan_invoice
from agent.reconcile.compare import Report, reconcile
from agent.reconcile.documents import ZERO, BookDoc, BookLine, ShopDoc, by_rate
from agent.reconcile.naming import Naming
from agent.reconcile.oss import OssReport, oss_report, parse_quarter
from agent.reconcile.places import CodeInfo, VatPlace, vat_place
from agent.woo.client import WooClient
from agent.woo.errors import WooNotFound
from agent.woo.models import Order, Refund

LOOKBACK = timedelta(days=31)  # an order paid up to a month after it was created still finds its period


def _customer(order: Order) -> str:
    b = order.billing
    return b.company or f"{b.first_name} {b.last_name}".strip() or b.email or f"customer {order.customer_id}"


def shop_invoice(order: Order, naming: Naming) -> ShopDoc:
    """What the order's invoice must say: WooCommerce's total and its ``tax_lines`` per rate."""
    taxes = [(t.rate_percent, t.tax_total + t.shipping_tax_total) for t in order.tax_lines]
    number = order.number or str(order.id)
    return ShopDoc(
        "invoice", order.id, order.id, number, order.date_paid_gmt or order.date_created_gmt
        or "", _customer(order), order.currency, order.total, sum((v for _, v in taxes), ZERO), by_rate(taxes),
        naming.invoice(order.id, number),
    )  # fmt: skip


def _lines_total(refund: Refund) -> Decimal:
    parts = [(ln.total, ln.total_tax) for ln in refund.line_items]
    parts += [(ln.total, ln.total_tax) for ln in refund.shipping_lines]
    parts += [(ln.total, ln.total_tax) for ln in refund.fee_lines]
    return -sum((net + tax for net, tax in parts), ZERO)


def shop_credit(refund: Refund, order: Order, naming: Naming) -> ShopDoc:
    """A refund's credit note. Its VAT is the refund's ``tax_lines`` only when the refund gives back exactly its
    lines: an amount-only refund states no VAT (the agent splits it), and one that keeps a fee (amount below its
    lines) carries less VAT than the lines do, so for both only the total counts."""
    taxes = [(t.rate_percent, -(t.tax_total + t.shipping_tax_total)) for t in refund.tax_lines]
    has_lines = bool(refund.line_items or refund.shipping_lines or refund.fee_lines)
    stated = has_lines and _lines_total(refund) == refund.amount
    return ShopDoc(
        "creditnote", refund.id, order.id, order.number or str(order.id), refund.date_created_gmt or "",
        _customer(order), order.currency, refund.amount, sum((v for _, v in taxes), ZERO) if stated else None,
        by_rate(taxes), naming.creditnote(refund.id),
    )  # fmt: skip


@dataclass(frozen=True)
class Period:
    """Days [start, end) in the shop's time zone: a month closes at the shop's midnight, not at UTC's."""

    start: date
    end: date  # exclusive
    tz: tzinfo = UTC

    def instant(self, day: date) -> datetime:
        return datetime(day.year, day.month, day.day, tzinfo=self.tz).astimezone(UTC)

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        return self.instant(self.start), self.instant(self.end)

    def holds(self, iso_gmt: str) -> bool:
        """A WooCommerce ``*_gmt`` date (UTC without offset) within the period."""
        if not iso_gmt:
            return False
        at = datetime.fromisoformat(iso_gmt[:19]).replace(tzinfo=UTC)
        first, after = self.bounds
        return first <= at < after


async def open_gatherer(woo: WooClient, dyn: DynaccountClient, settings: PlanSettings, journal: Journal) -> Gatherer:
    """A gatherer that also knows this journal's documents made with an older reference format."""
    prefix = settings.shop.name + "/"
    return Gatherer(woo, dyn, settings, Naming.of(settings, await journal.document_references(prefix)))


class Gatherer:
    def __init__(self, woo: WooClient, dyn: DynaccountClient, settings: PlanSettings,
                 naming: Naming | None = None) -> None:  # fmt: skip
        self._woo, self._dyn, self._settings = woo, dyn, settings
        self._naming = naming or Naming.of(settings)
        self._places: dict[str, VatPlace] = {}
        self._orders: dict[int, Order] = {}
        self._invoice_heads: dict[int, tuple[str, str]] = {}  # invoice id -> (reference, currency)

    def expected(self, order: Order) -> bool:
        """The planner would invoice it (or hold it for a human, which leaves it missing from the books);
        an order paid and refunded later was sold all the same: it is invoiced, then credited."""
        if order.status == "refunded" and order.date_paid_gmt:
            return True
        plan = plan_invoice(order, self._settings)
        return not (isinstance(plan, Skip) and plan.kind == "skip")

    async def report(self, period: Period) -> Report:
        await self._load_places()
        shop = await self.shop(period)
        books = await self.books(period)
        shop_keys, book_keys = {d.key for d in shop}, {b.key for b in books if b.ours}
        lacking = [d for d in shop if d.key not in book_keys]
        books_elsewhere = {b.key or "": b for b in await self._books_by_reference(lacking)}
        shop_elsewhere = {d.key: d for d in await self._shop_for(b for b in books
                                                                 if b.ours and b.key not in shop_keys)}
        return reconcile(period.start, period.end, shop, books, books_elsewhere=books_elsewhere,
                         shop_elsewhere=shop_elsewhere)  # fmt: skip

    async def oss(self, quarter: str, tz: tzinfo = UTC) -> OssReport:
        """The quarter's OSS figures from the booked documents dated in it (days in the shop's time zone)."""
        start, end = parse_quarter(quarter)
        await self._load_places()
        return oss_report(quarter, await self.books(Period(start, end, tz)))

    # -- WooCommerce -----------------------------------------------------------------------------

    async def shop(self, period: Period) -> list[ShopDoc]:
        start, end = period.bounds
        docs = []
        async for order in self._woo.iter_orders(after=start - LOOKBACK, before=end, orderby="date", order="asc"):
            self._orders[order.id] = order
            doc = shop_invoice(order, self._naming)
            if period.holds(doc.date) and self.expected(order):
                docs.append(doc)
        for refund in await self._woo.list_all_refunds(after=start - timedelta(seconds=1), before=end):
            parent = await self._order(refund.parent_id or 0)
            if parent is not None and period.holds(refund.date_created_gmt or "") and self.expected(parent):
                docs.append(shop_credit(refund, parent, self._naming))
        return docs

    async def _order(self, order_id: int) -> Order | None:
        if order_id not in self._orders:
            try:
                self._orders[order_id] = await self._woo.get_order(order_id)
            except WooNotFound:
                return None
        return self._orders.get(order_id)

    async def _shop_for(self, books: Iterable[BookDoc]) -> list[ShopDoc]:
        """The shop's view of documents in the period whose order or refund the period lacks."""
        found = []
        for book in books:
            order = await self._order(book.order_id) if book.order_id else None
            if order is None or not self.expected(order):
                continue
            if book.kind == "invoice":
                found.append(shop_invoice(order, self._naming))
                continue
            read = self._naming.read(book.reference)
            if read is not None:
                try:
                    found.append(shop_credit(await self._woo.get_refund(order.id, read[1]), order, self._naming))
                except WooNotFound:
                    continue
        return found

    # -- Dynaccount ------------------------------------------------------------------------------

    async def _load_places(self) -> None:
        vat = self._settings.vat
        for code in await self._dyn.list_vatcodes():
            info = CodeInfo(code.name, code.rate, code.type)
            self._places[code.name] = vat_place(info, oss_pattern=vat.oss_code, home_country=vat.home_country,
                                                eu_countries=vat.eu_countries)  # fmt: skip

    def _place(self, code: str) -> VatPlace:
        return self._places.get(code) or VatPlace(code, "", Decimal(0), oss=False)

    async def books(self, period: Period) -> list[BookDoc]:
        start, end = (int(b.timestamp()) for b in period.bounds)
        invoices = await self._dyn.invoices_dated(start, end)
        for inv in invoices:
            self._invoice_heads[inv.id] = (inv.requisition, inv.currency_name)
        docs = [self._invoice_doc(inv) for inv in invoices]
        docs += [await self._credit_doc(note) for note in await self._dyn.creditnotes_dated(start, end)]
        return docs

    def _lines(self, doc: Invoice | CreditNote) -> tuple[BookLine, ...]:
        return tuple(BookLine(self._place(ln.vatcode_name), ln.total_amount - ln.vat_amount, ln.vat_amount)
                     for ln in doc.lines)  # fmt: skip

    def _key(self, kind: str, reference: str) -> tuple[str | None, int | None]:
        """(``kind:id`` when this shop's document of that kind, the id read from the reference)."""
        read = self._naming.read(reference)
        if read is None or read[0] != kind:
            return None, None
        return f"{kind}:{read[1]}", read[1]

    def _invoice_doc(self, inv: Invoice) -> BookDoc:
        key, order_id = self._key("invoice", inv.requisition)
        return BookDoc("invoice", inv.id, inv.number, inv.requisition, inv.time, inv.currency_name or "DKK",
                       inv.is_booked, inv.total_amount, inv.vat_amount, self._lines(inv), order_id, key)  # fmt: skip

    async def _credit_doc(self, note: CreditNote) -> BookDoc:
        """A credit note's currency and order are its invoice's (the invoice may lie in an earlier period)."""
        if note.invoice_id not in self._invoice_heads:
            select = ("id", "requisition", "currency_name")
            rows = await self._dyn.get(A.INVOICE_TABLE, note.invoice_id, select=select)
            row = rows[0] if rows else {}
            head = (str(row.get("requisition") or ""), str(row.get("currency_name") or ""))
            self._invoice_heads[note.invoice_id] = head
        reference, currency = self._invoice_heads[note.invoice_id]
        key = self._key("creditnote", note.requisition)[0]
        return BookDoc("creditnote", note.id, note.number, note.requisition, note.time, currency or "DKK",
                       note.is_booked, note.total_amount, note.vat_amount, self._lines(note),
                       self._key("invoice", reference)[1], key)  # fmt: skip

    async def _books_by_reference(self, lacking: Iterable[ShopDoc]) -> list[BookDoc]:
        """Documents a period lacks may exist with another date: found by their reference (the older one
        this journal names for it, else the current format)."""
        found = []
        for doc in sorted(lacking, key=lambda d: d.key):
            ref = self._naming.old_reference(doc.kind, doc.woo_id) or doc.reference
            if doc.kind == "invoice":
                invoice = await self._dyn.find_invoice_by_reference(ref)
                if invoice is not None:
                    found.append(self._invoice_doc(invoice))
            else:
                note = await self._dyn.find_creditnote_by_reference(ref)
                if note is not None:
                    found.append(await self._credit_doc(note))
        return found

