"""Which documents in Dynaccount are this shop's, and for which order or refund (issue 19).

Several shops may book into one company, so a document is this shop's when its reference has this
shop's format (``<shop>/order-17``, built by :mod:`agent.plan.references`), or when it is one this
journal's links name with an older format (``woo-order-17`` from before the shop went into references).
Documents are matched by what they are for (``invoice:17``, ``creditnote:5``), never by the raw text,
so an upgraded shop's old documents still match its orders. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from agent.plan import PlanSettings, references

DocKind = Literal["invoice", "creditnote"]
LINK_KINDS: Mapping[str, DocKind] = {"order": "invoice", "refund": "creditnote"}


def _pattern(shop: str, fmt: str) -> re.Pattern[str]:
    """A reference format (``order-{id}``, ``{number}``) as a pattern that reads the id (or number) back."""
    body = re.escape(fmt).replace(r"\{id\}", r"(?P<id>\d+)").replace(r"\{number\}", r"(?P<number>[^/]+?)")
    return re.compile(f"^{re.escape(shop + references.SEPARATOR)}{body}$")


@dataclass(frozen=True)
class Naming:
    shop: str
    invoice_format: str
    refund_format: str
    legacy: Mapping[str, tuple[DocKind, int]] = field(default_factory=dict)

    @classmethod
    def of(cls, settings: PlanSettings, legacy_links: Iterable[tuple[str, str, str]] = ()) -> Naming:
        """``legacy_links``: (link kind, woo id, reference) of this journal's documents with an older format."""
        legacy: dict[str, tuple[DocKind, int]] = {}
        for kind, woo_id, reference in legacy_links:
            if kind in LINK_KINDS and woo_id.isdigit() and not reference.startswith("netted into"):
                legacy[reference] = (LINK_KINDS[kind], int(woo_id))
        return cls(settings.shop.name, settings.invoice.reference, settings.refunds.reference, legacy)

    @property
    def prefix(self) -> str:
        return self.shop + references.SEPARATOR

    def invoice(self, order_id: int, number: str) -> str:
        return references.invoice(self.shop, self.invoice_format, order_id=order_id, number=number)

    def creditnote(self, refund_id: int) -> str:
        return references.creditnote(self.shop, self.refund_format, refund_id=refund_id)

    def read(self, reference: str) -> tuple[DocKind, int] | None:
        """What a document with this reference is for, when it is this shop's (None: another's, or a hand-made one).
        A ``{number}`` format is read as the order id when the number is all digits (WooCommerce's default)."""
        if reference in self.legacy:
            return self.legacy[reference]
        for kind, fmt in (("invoice", self.invoice_format), ("creditnote", self.refund_format)):
            found = _pattern(self.shop, fmt).match(reference)
            if found is None:
                continue
            value = found.groupdict().get("id") or found.groupdict().get("number") or ""
            return (kind, int(value)) if value.isdigit() else None  # type: ignore[return-value]
        return None

    def old_reference(self, kind: DocKind, woo_id: int) -> str | None:
        """The older reference this journal knows for a document, if it has one (to look it up by)."""
        return next((ref for ref, key in self.legacy.items() if key == (kind, woo_id)), None)
