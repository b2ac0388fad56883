"""Plan value types: frozen dataclasses that serialise to JSON for the journal.

The journal stores the plan an action was based on, so ``to_dict()`` keeps every Decimal as a
string (never a float) and :meth:`PlanLine.from_dict` reads a stored line back (the credit-note
planner needs the invoice's lines as they were planned).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from agent.plan.money import ZERO, dynaccount_line
from agent.woo.models import Refund

LineKind = Literal["item", "shipping", "fee", "discount", "rounding", "refund", "kept"]
DebtorKindName = Literal["b2c", "b2b", "ean"]
SkipKind = Literal["skip", "hold", "wait", "done", "replan_invoice"]


def to_jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    return value


class _Serialisable:
    type_name = ""

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = to_jsonable(self)
        return {"type": self.type_name, **data}


@dataclass(frozen=True)
class PlanLine(_Serialisable):
    """One document line. ``net``/``vat`` are Dynaccount's figures for it (A-18), computed once."""

    kind: LineKind
    source: str  # "item:<woo item id>", "shipping:<id>", "fee:<id>", "discount", "rounding", "refund"
    product: str
    name: str
    qty: Decimal
    unit_price: Decimal  # ex VAT, to the øre
    vat_code: str  # "" = no VAT code (rounding)
    vat_rate: Decimal  # percent, from the WooCommerce tax line
    discount_percent: Decimal | None = None
    net: Decimal = ZERO
    vat: Decimal = ZERO
    txt: str = ""  # a note under the line ([mapping] line_note)
    type_name = "line"

    @classmethod
    def make(cls, *, kind: LineKind, source: str, product: str, name: str, qty: Decimal, unit_price: Decimal,
             vat_code: str, vat_rate: Decimal, discount_percent: Decimal | None = None) -> PlanLine:  # fmt: skip
        amounts = dynaccount_line(qty, unit_price, vat_rate, discount_percent)
        return cls(kind, source, product, name, qty, unit_price, vat_code, vat_rate, discount_percent,
                   amounts.net, amounts.vat)  # fmt: skip

    @property
    def gross(self) -> Decimal:
        return self.net + self.vat

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PlanLine:
        discount = data.get("discount_percent")
        return cls.make(
            kind=data["kind"], source=data["source"], product=data["product"], name=data["name"],
            qty=Decimal(data["qty"]), unit_price=Decimal(data["unit_price"]), vat_code=data["vat_code"],
            vat_rate=Decimal(data["vat_rate"]), discount_percent=None if discount is None else Decimal(discount),
        ).noted(str(data.get("txt") or ""))  # fmt: skip

    def noted(self, txt: str) -> PlanLine:
        return dataclasses.replace(self, txt=txt) if txt else self


@dataclass(frozen=True)
class Totals:
    """Dynaccount's predicted totals beside WooCommerce's, and how the difference was handled."""

    net: Decimal
    vat: Decimal
    total: Decimal
    woo_total: Decimal
    woo_vat: Decimal
    rounding: Decimal  # the rounding line's amount (0 if none)
    vat_difference: Decimal  # woo_vat − vat, accepted when within tolerance


@dataclass(frozen=True)
class DebtorDecision:
    kind: DebtorKindName
    group: str
    match_key: str
    match_value: str
    number: int | None  # known debtor number (linked, shared, or customer id + offset)
    allocate_from: int | None  # when number is None: allocate the next free number from here
    name: str
    company: str
    attention: str
    address: str
    zip: str
    city: str
    country: str
    email: str
    phone: str
    vat_number: str
    ean: str
    language: str
    currency: str
    delivery: Address | None = None
    allocate_to: int | None = None  # [debtors] range_end: this agent's numbers end here


@dataclass(frozen=True)
class Address:
    name: str
    attention: str
    address: str
    zip: str
    city: str
    country: str


@dataclass(frozen=True)
class ProductSync:
    sku: str
    name: str
    unit_price: Decimal  # ex VAT, before discounts
    update: bool  # create_and_update: overwrite name/price of an existing product
    note: str = ""  # which shop created it (references.product), written on creation only


@dataclass(frozen=True)
class PaymentDecision:
    register: bool
    reason: str
    method: str = ""
    amount: Decimal = ZERO
    date: str | None = None
    account: str = ""


@dataclass(frozen=True)
class InvoicePlan(_Serialisable):
    order_id: int
    order_number: str
    reference: str
    text: str
    currency: str
    date: str | None
    mode: Literal["draft", "booked"]
    held: str | None  # reason the invoice stays a draft (totals off beyond tolerance)
    renewal: bool
    debtor: DebtorDecision
    products: tuple[ProductSync, ...]
    lines: tuple[PlanLine, ...]
    totals: Totals
    payment_terms: str
    payment: PaymentDecision
    update_draft: bool = False  # an existing draft invoice is to be replaced by this plan
    refunds_netted: tuple[int, ...] = ()
    notes: tuple[str, ...] = ()
    woo_vat_by_code: Mapping[str, Decimal] = field(default_factory=dict)  # what the customer paid, per code
    delivery_date: str | None = None  # a renewal's period start
    dimension: str = ""  # [shop] dimension_name
    header_fields: Mapping[str, str] = field(default_factory=dict)  # [mapping] invoice_fields, rendered
    type_name = "invoice"


@dataclass(frozen=True)
class CreditNotePlan(_Serialisable):
    order_id: int
    refund_id: int
    reference: str
    invoice_reference: str
    text: str
    date: str | None
    mode: Literal["draft", "booked"]
    full_refund: bool
    lines: tuple[PlanLine, ...]
    totals: Totals
    payout: PaymentDecision
    capped: str | None = None
    notes: tuple[str, ...] = ()
    woo_vat_by_code: Mapping[str, Decimal] = field(default_factory=dict)
    kept_fee: Decimal = ZERO  # what the shop kept of the refunded lines (restocking fee), incl. VAT
    dimension: str = ""  # [shop] dimension_name
    type_name = "creditnote"


@dataclass(frozen=True)
class Skip(_Serialisable):
    """No document now. ``kind``: skip (never), hold (needs a human), wait (later), done (already
    there), replan_invoice (re-plan the order's draft invoice net of its refunds)."""

    order_id: int
    kind: SkipKind
    reason: str
    refund_id: int | None = None
    missing_vat_code: str = ""  # a mapped code Dynaccount did not list: re-read the codes, then plan again
    type_name = "skip"


@dataclass(frozen=True)
class ExistingInvoice:
    reference: str
    booked: bool


@dataclass(frozen=True)
class InvoiceContext:
    """What the worker knows without I/O when planning an invoice."""

    invoice: ExistingInvoice | None = None
    debtor_number: int | None = None  # debtor already linked to this customer
    payment_registered: bool = False
    refunds: tuple[Refund, ...] = ()  # refunds to net out of a draft invoice (update_draft policy)
    vat_codes: Mapping[str, Decimal] | None = None  # Dynaccount's VAT codes → rate; None = not read
    subscription: Subscription | None = None  # the subscription a renewal order renews, when loaded
    reference: str | None = None  # the reference the invoice already has (link or intent; may be the old format)


@dataclass(frozen=True)
class Subscription:
    """The schedule of a WooCommerce subscription (``GET /wc/v3/subscriptions/<id>``)."""

    id: int
    billing_period: str  # day | week | month | year
    billing_interval: int


@dataclass(frozen=True)
class Credited:
    qty: Decimal = Decimal(0)
    net: Decimal = ZERO


@dataclass(frozen=True)
class InvoiceState:
    """The invoice a refund credits, as planned/booked, and what earlier credit notes took from it."""

    reference: str
    booked: bool
    lines: tuple[PlanLine, ...]
    total: Decimal
    credited_total: Decimal = ZERO
    credited: Mapping[str, Credited] = field(default_factory=dict)  # by line source
    payment_registered: bool = False
    payment_method: str = ""

    @classmethod
    def from_plan(cls, plan: InvoicePlan, *, booked: bool, **kwargs: Any) -> InvoiceState:
        return cls(reference=plan.reference, booked=booked, lines=plan.lines, total=plan.totals.total,
                   payment_method=plan.payment.method, **kwargs)  # fmt: skip


@dataclass(frozen=True)
class CreditNoteContext:
    invoice: InvoiceState | None = None
    already_credited: bool = False  # a credit note for this refund exists
    vat_codes: Mapping[str, Decimal] | None = None
    reference: str | None = None  # the reference the credit note already has (link or intent)
