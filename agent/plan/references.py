"""Every deterministic reference the agent writes, built in one place (issue 19).

Several shops may book into one Dynaccount company, and each looks a document up by its reference
before creating it, so a reference must say which shop it belongs to: ``<shop>/order-17``,
``<shop>/refund-5``, ``<shop>/order-17-payment``, ``<shop>/refund-5-payout``,
``<shop>/sku-ABC`` (the note on a product the agent creates) and ``<shop>/file-<source>-<number>``.

Documents an earlier version made without the shop (``woo-order-17``) keep the reference they were
made with: :func:`kept` takes it from this journal's link or intent for the order, so an upgrade
recognises them as this shop's and books nothing twice. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from agent.dynaccount.assumptions import REFERENCE_MAX_LENGTH

if TYPE_CHECKING:  # settings.py imports this module (the shop name check)
    from agent.plan.settings import PlanSettings

NAME_MAX_LENGTH = 15  # the longest reference, "<name>/refund-<20 digits>-payout", stays within A-39
NAME_PATTERN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$")
SEPARATOR = "/"


class ReferenceTooLong(ValueError):
    """A reference Dynaccount's column could not hold (A-39); the order is held, never truncated."""


def check_name(name: str) -> str:
    """A shop name: letters, digits and ``-``, not starting or ending with ``-``, at most 15 characters."""
    if not NAME_PATTERN.match(name) or len(name) > NAME_MAX_LENGTH:
        raise ValueError(f"must be 1-{NAME_MAX_LENGTH} letters, digits or '-' (not first or last), got {name!r}")
    return name


def name_from_url(url: str) -> str:
    """The default shop name: the WooCommerce URL's host, ``www.`` dropped, dots as ``-``, shortened."""
    host = (urlsplit(url).hostname or "shop").lower().removeprefix("www.")
    name = re.sub(r"[^a-z0-9-]+", "-", host)[:NAME_MAX_LENGTH].strip("-")
    return name or "shop"


def _checked(reference: str) -> str:
    if len(reference) > REFERENCE_MAX_LENGTH:
        raise ReferenceTooLong(f"reference {reference!r} is longer than Dynaccount's {REFERENCE_MAX_LENGTH} "
                               f"characters (A-39): shorten [shop] name or the reference format")  # fmt: skip
    return reference


def invoice(shop: str, fmt: str, *, order_id: int, number: str) -> str:
    """``fmt`` is ``[invoice] reference`` (``order-{id}``); the shop always goes in front."""
    return _checked(f"{shop}{SEPARATOR}{fmt.format(id=order_id, number=number)}")


def creditnote(shop: str, fmt: str, *, refund_id: int) -> str:
    return _checked(f"{shop}{SEPARATOR}{fmt.format(id=refund_id)}")


def payment(invoice_reference: str) -> str:
    """The payment voucher of an invoice: derived from the invoice's own (kept) reference."""
    return _checked(f"{invoice_reference}-payment")


def payout(creditnote_reference: str) -> str:
    return _checked(f"{creditnote_reference}-payout")


def product(shop: str, sku: str) -> str:
    """The note on a product the agent creates (products are found by SKU, shared by the shops)."""
    return f"{shop}{SEPARATOR}sku-{sku}"[:REFERENCE_MAX_LENGTH]


def file(shop: str, source: str, number: str) -> str:
    """An order imported from a file (issue 18)."""
    return _checked(f"{shop}{SEPARATOR}file-{source}-{number}")


LEGACY_INVOICE = "woo-order-{id}"  # the defaults before the shop went into references
LEGACY_CREDITNOTE = "woo-refund-{id}"


def legacy_invoice(fmt: str, *, order_id: int, number: str) -> tuple[str, ...]:
    """What an earlier version may have put on this order's invoice: the format without the shop."""
    return tuple(dict.fromkeys(f.format(id=order_id, number=number) for f in (fmt, LEGACY_INVOICE)))


def legacy_creditnote(fmt: str, *, refund_id: int) -> tuple[str, ...]:
    return tuple(dict.fromkeys(f.format(id=refund_id) for f in (fmt, LEGACY_CREDITNOTE)))


def kept(prefix: str, link_reference: str | None, intents: Iterable[str], fresh: str, legacy: Iterable[str]) -> str:
    """The reference a document already has: its link's, else the one an earlier attempt's
    ``<prefix>:<reference>`` intent names (it may have created the document and lost the answer),
    else ``fresh``. A document made before the shop went into references keeps its old one."""
    if link_reference and not link_reference.startswith("netted into"):
        return link_reference
    started = set(intents)
    for reference in (fresh, *legacy):
        if f"{prefix}:{reference}" in started:
            return reference
    return fresh


def known_invoice(settings: PlanSettings, order_id: int, number: str, link_reference: str | None,
                  intents: Iterable[str]) -> str | None:  # fmt: skip
    """The reference this order's invoice already has in this journal (None: not made yet)."""
    legacy = legacy_invoice(settings.invoice.reference, order_id=order_id, number=number)
    fresh = _fresh(lambda: invoice(settings.shop.name, settings.invoice.reference, order_id=order_id, number=number))
    found = kept("create-invoice", link_reference, intents, fresh or "", legacy)
    return found or None


def known_creditnote(settings: PlanSettings, refund_id: int, link_reference: str | None,
                     intents: Iterable[str]) -> str | None:  # fmt: skip
    legacy = legacy_creditnote(settings.refunds.reference, refund_id=refund_id)
    fresh = _fresh(lambda: creditnote(settings.shop.name, settings.refunds.reference, refund_id=refund_id))
    return kept("create-creditnote", link_reference, intents, fresh or "", legacy) or None


def payment_of(settings: PlanSettings, kind: str, document_reference: str, woo_id: int,
               link_reference: str | None, intents: Iterable[str]) -> str:  # fmt: skip
    """A payment (``kind`` payment; ``woo_id`` the order) or payout (the refund) voucher's reference:
    the one already made, else one that carries the shop even when its document kept an old one."""
    build: Callable[[str], str]
    if kind == "payment":
        fmt, build = settings.invoice.reference, payment
        fresh_document = _fresh(lambda: invoice(settings.shop.name, fmt, order_id=woo_id, number=str(woo_id)))
    else:
        fmt, build = settings.refunds.reference, payout
        fresh_document = _fresh(lambda: creditnote(settings.shop.name, fmt, refund_id=woo_id))
    if fresh_document is None or not document_reference.startswith(f"{settings.shop.name}{SEPARATOR}"):
        fresh_document = fresh_document or document_reference
    else:
        fresh_document = document_reference  # already this shop's: {number} formats stay as planned
    legacy = (f"{document_reference}-{kind}",)
    return kept(f"register-{kind}", link_reference, intents, build(fresh_document), legacy)


def _fresh(build: Callable[[], str]) -> str | None:
    try:
        return build()
    except ReferenceTooLong:
        return None


def _reading(prefix: str, fmt: str) -> re.Pattern[str] | None:
    """A reference format (``order-{id}``, ``{number}``) as a pattern that reads the id (or number) back;
    None when the format cannot be read back (a placeholder used twice)."""
    body = re.escape(fmt).replace(r"\{id\}", r"(?P<id>\d+)").replace(r"\{number\}", r"(?P<number>[^/]+?)")
    try:
        return re.compile(f"^{re.escape(prefix)}{body}$")
    except re.error:
        return None


def reader(shop: str, fmt: str, legacy: str) -> Callable[[str], int | None]:
    """What a document's reference is for: the order (or refund) id its format carries, read with this shop's
    format and the formats without the shop it recognises (``fmt`` alone, ``legacy``); a ``{number}`` format is
    read as an id when the number is all digits. None: not readable (another shop's, hand-made, a file's).

    A function of the text alone, so a reference and the same text in Dynaccount always read the same
    (the reference index relies on exactly that: it may over-report, never miss)."""
    patterns = [p for p in (_reading(shop + SEPARATOR, fmt), _reading("", fmt), _reading("", legacy)) if p]

    def read(reference: str) -> int | None:
        for pattern in patterns:
            found = pattern.match(reference)
            if found is None:
                continue
            value = found.groupdict().get("id") or found.groupdict().get("number") or ""
            if value.isdigit():
                return int(value)
        return None

    return read


def own(shop: str, reference: str) -> bool:
    """Whether ``reference`` carries this shop's name: only this shop's agent writes such references (A-44)."""
    return reference.startswith(shop + SEPARATOR)
