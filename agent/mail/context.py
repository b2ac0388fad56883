"""What a customer mail is rendered with: built from the plan the document was booked from, the
document as Dynaccount booked it, and the order as WooCommerce had it. Frozen into the outbox row at
enqueue time, so a mail re-rendered later (preview, resend) says what was booked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from agent.config_mail import MailConfig


@dataclass(frozen=True)
class Document:
    """The booked document, as Dynaccount answered (numbers and dates are assigned on booking)."""

    kind: str  # invoice | creditnote
    number: int | None
    time: int | None
    time_due: int | None
    total: Decimal
    vat: Decimal
    currency: str


def day(ts: int | float | None) -> str | None:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d") if ts else None


def _lines(plan: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for line in plan.get("lines", []):
        net, vat = Decimal(str(line.get("net", "0"))), Decimal(str(line.get("vat", "0")))
        out.append({
            "name": line.get("name", ""), "product": line.get("product", ""), "qty": str(line.get("qty", "0")),
            "unit_price": str(line.get("unit_price", "0")), "vat_code": line.get("vat_code", ""),
            "vat_rate": str(line.get("vat_rate", "0")), "net": str(net), "vat": str(vat), "total": str(net + vat),
            "discount_percent": str(line.get("discount_percent") or ""),
        })  # fmt: skip
    return out


def _vat(lines: list[dict[str, Any]]) -> list[dict[str, str]]:
    """VAT per VAT code, as the customer's tax lines show it."""
    by_code: dict[tuple[str, str], list[Decimal]] = {}
    for line in lines:
        sums = by_code.setdefault((line["vat_code"], line["vat_rate"]), [Decimal(0), Decimal(0)])
        sums[0] += Decimal(line["net"])
        sums[1] += Decimal(line["vat"])
    return [{"code": code, "rate": rate, "net": str(net), "vat": str(vat)}
            for (code, rate), (net, vat) in sorted(by_code.items()) if code]  # fmt: skip


def _customer(debtor: dict[str, Any]) -> dict[str, str]:
    keys = ("name", "company", "attention", "email", "phone", "address", "zip", "city", "country", "vat_number",
            "ean", "group", "kind")  # fmt: skip
    return {k: str(debtor.get(k) or "") for k in keys}


def _order(plan: dict[str, Any], order: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": plan.get("order_id"), "number": str(plan.get("order_number") or order.get("number") or ""),
        "date": (order.get("date_created_gmt") or plan.get("date") or "")[:10] or None,
        "payment_method": order.get("payment_method") or plan.get("payment", {}).get("method", ""),
        "payment_method_title": order.get("payment_method_title") or "",
        "customer_note": order.get("customer_note") or "",
    }  # fmt: skip


def invoice_context(cfg: MailConfig, plan: dict[str, Any], doc: Document, order: dict[str, Any],
                    language: str) -> dict[str, Any]:  # fmt: skip
    """``plan`` is the invoice plan (dict); ``order`` the WooCommerce order as last loaded ({} if unknown)."""
    lines = _lines(plan)
    paid = bool(order.get("date_paid_gmt") or order.get("date_paid") or plan.get("payment", {}).get("register"))
    return {
        "kind": doc.kind, "language": language,
        "shop": {"name": cfg.shop_name or cfg.from_name, "url": cfg.shop_url,
                 "email": cfg.reply_to or cfg.from_address},
        "customer": _customer(plan.get("debtor", {})), "order": _order(plan, order),
        "invoice": {
            "number": doc.number, "date": day(doc.time), "due_date": day(doc.time_due),
            "payment_terms": plan.get("payment_terms", ""), "reference": plan.get("reference", ""),
        },
        "creditnote": None, "lines": lines, "vat": _vat(lines), "currency": doc.currency or plan.get("currency", ""),
        "totals": {"net": str(doc.total - doc.vat), "vat": str(doc.vat), "total": str(doc.total)},
        "payment": {"paid": paid, "status": "paid" if paid else "unpaid"},
    }  # fmt: skip


def creditnote_context(cfg: MailConfig, invoice_plan: dict[str, Any], invoice_number: int | None,
                       note_plan: dict[str, Any], doc: Document, order: dict[str, Any],
                       language: str) -> dict[str, Any]:  # fmt: skip
    base = invoice_context(cfg, invoice_plan, doc, order, language)
    lines = _lines(note_plan)
    base["invoice"] = {**base["invoice"], "number": invoice_number, "date": None, "due_date": None}
    base["creditnote"] = {"number": doc.number, "date": day(doc.time), "reference": note_plan.get("reference", ""),
                          "refund_id": note_plan.get("refund_id")}  # fmt: skip
    base["lines"], base["vat"] = lines, _vat(lines)
    base["payment"] = {"paid": True, "status": "refunded"}
    return base


def pick_language(debtor_language: str, default: str) -> str:
    """The debtor's language ([debtors] language_by_country) when a template set exists for it."""
    lang = (debtor_language or "").lower()[:2]
    return lang if lang in ("da", "en") else default
