"""What the journal hands out: plain frozen records, built from rows here and nowhere else."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

WORK_STATES = ("pending", "running", "done", "failed", "skipped", "waiting", "held")


# An order's fingerprint, or how to compute it when needed; None: unknown (counts as a change).
Fingerprint = str | Callable[[], str | None] | None


@dataclass(frozen=True)
class NewDelivery:
    """A delivery as intake understood it, ready to be journaled."""

    received_at: float
    headers: dict[str, str]
    body: bytes
    signature: str  # valid | unsigned_ping
    state: str  # queued | ping | invalid_json | unknown_topic | error_payload | ignored
    topic: str | None = None
    resource: str | None = None
    resource_id: str | None = None
    webhook_id: str | None = None
    delivery_id: str | None = None
    error: str | None = None
    work_key: str | None = None
    # Of the order the body carries; None: the delivery only names it. A callable computes it, called
    # only when the work item's state needs the comparison (``deliveries._insert``): not for a new or
    # pending item, which the delivery opens whatever the order says.
    fingerprint: Fingerprint = None

    @cached_property
    def body_sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()

    @cached_property
    def dedupe_key(self) -> str:
        # X-WC-Webhook-Delivery-ID is not unique (same id within one second), so the
        # identity of a delivery is what it says: topic, resource and the exact bytes.
        return f"{self.topic or self.state}|{self.resource_id or ''}|{self.body_sha256}"


@dataclass(frozen=True)
class Recorded:
    id: int
    duplicate: bool


@dataclass(frozen=True)
class Delivery:
    id: int
    received_at: float
    topic: str | None
    resource_id: str | None
    delivery_id: str | None
    signature: str
    state: str
    error: str | None
    work_key: str | None
    repeats: int
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class Counts:
    deliveries: dict[str, int]
    work: dict[str, int]


@dataclass(frozen=True)
class WorkItem:
    key: str
    kind: str
    resource_id: str
    state: str
    generation: int
    attempts: int
    due_at: float
    updated_at: float
    reason: str | None
    error: str | None


@dataclass(frozen=True)
class Link:
    kind: str
    woo_id: str
    dyn_id: str | None
    dyn_number: str | None
    state: str
    reference: str | None
    amount: str | None
    data: dict[str, Any]
    updated_at: float
    order_id: str | None = None


@dataclass(frozen=True)
class Intent:
    key: str
    state: str
    attempts: int
    result: str | None


@dataclass
class OrderFacts:
    """Everything the journal knows about one order, read in one call: the planner's input and the
    applier's starting point (the applier keeps it current as it writes, so nothing is read twice)."""

    order_id: int
    invoice: Link | None = None  # kind order
    payment: Link | None = None  # kind payment
    refunds: dict[int, Link] = field(default_factory=dict)  # kind refund, by refund id
    payouts: dict[int, Link] = field(default_factory=dict)  # kind payout, by refund id
    intents: dict[str, Intent] = field(default_factory=dict)  # by intent key
    # Orders from another source than WooCommerce (files: "file:") keep their links under prefixed kinds
    # and order ids ("file:order", order_id "file:7"), so their ids never meet a WooCommerce order's.
    namespace: str = ""
    # References of documents this pass saw unbooked and then booked (not stored): no payment voucher
    # can carry such a reference yet, so registering its payment needs no look-up first.
    seen_unbooked: set[str] = field(default_factory=set)

    @property
    def key(self) -> str:
        """The order's id in the links' and intents' order_id column."""
        return f"{self.namespace}{self.order_id}"

    def kind(self, kind: str) -> str:
        """A link kind (order, payment, refund, payout) in this order's namespace."""
        return f"{self.namespace}{kind}"

    def add(self, link: Link) -> None:
        kind = link.kind.removeprefix(self.namespace) if self.namespace else link.kind
        if kind == "order":
            self.invoice = link
        elif kind == "payment":
            self.payment = link
        elif kind == "refund":
            self.refunds[int(link.woo_id)] = link
        elif kind == "payout":
            self.payouts[int(link.woo_id)] = link


@dataclass(frozen=True)
class Event:
    id: int
    at: float
    work_key: str | None
    level: str
    message: str
    data: dict[str, Any] | None


def delivery_row(row: Any) -> Delivery:
    return Delivery(
        id=row["id"], received_at=row["received_at"], topic=row["topic"], resource_id=row["resource_id"],
        delivery_id=row["delivery_id"], signature=row["signature"], state=row["state"], error=row["error"],
        work_key=row["work_key"], repeats=row["repeats"], body=bytes(row["body"]),
        headers=json.loads(row["headers"]),
    )  # fmt: skip


def work_row(row: Any) -> WorkItem:
    return WorkItem(
        key=row["key"], kind=row["kind"], resource_id=row["resource_id"], state=row["state"],
        generation=row["generation"], attempts=row["attempts"], due_at=row["due_at"],
        updated_at=row["updated_at"], reason=row["reason"], error=row["error"],
    )  # fmt: skip


def link_row(row: Any) -> Link:
    return Link(
        kind=row["kind"], woo_id=row["woo_id"], dyn_id=row["dyn_id"], dyn_number=row["dyn_number"],
        state=row["state"], reference=row["reference"], amount=row["amount"],
        data=json.loads(row["data"]) if row["data"] else {}, updated_at=row["updated_at"], order_id=row["order_id"],
    )  # fmt: skip


def intent_row(row: Any) -> Intent:
    return Intent(key=row["key"], state=row["state"], attempts=row["attempts"], result=row["result"])


def event_row(row: Any) -> Event:
    return Event(id=row["id"], at=row["at"], work_key=row["work_key"], level=row["level"], message=row["message"],
                 data=json.loads(row["data"]) if row["data"] else None)  # fmt: skip
