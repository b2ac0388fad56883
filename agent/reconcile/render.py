"""The reconciliation report as text (the CLI) and as JSON (the page's API)."""

from __future__ import annotations

from typing import Any

from agent.reconcile.compare import Report


def to_dict(report: Report) -> dict[str, Any]:
    c = report.counts
    return {
        "from": report.start.isoformat(), "to": report.end.isoformat(), "ok": report.ok,
        "counts": {"orders": c.orders, "refunds": c.refunds, "invoices": c.invoices, "creditnotes": c.creditnotes,
                   "other_documents": c.other_documents},
        "currencies": [
            {"currency": t.currency, "shop_sales": str(t.shop_sales), "shop_refunds": str(t.shop_refunds),
             "book_invoices": str(t.book_invoices), "book_credits": str(t.book_credits), "agrees": t.agrees}
            for t in report.currencies
        ],
        "vat_codes": [{"code": t.code, "country": t.country, "rate": str(t.rate), "net": str(t.net), "vat": str(t.vat)}
                      for t in report.codes],
        "differences": [{"kind": d.kind, "reference": d.reference, "work_key": d.work_key, "message": d.message}
                        for d in report.differences],
    }  # fmt: skip


def to_text(report: Report) -> str:
    c = report.counts
    out = [f"Reconciliation {report.start} – {report.end} (end exclusive, days in the shop's time zone)",
           f"WooCommerce: {c.orders} orders to invoice, {c.refunds} refunds",
           f"Dynaccount:  {c.invoices} invoices, {c.creditnotes} credit notes by the agent"
           + (f", {c.other_documents} other documents" if c.other_documents else ""),
           "", f"{'currency':<9}{'sales':>14}{'invoiced':>14}{'refunds':>14}{'credited':>14}"]  # fmt: skip
    for t in report.currencies:
        mark = "" if t.agrees else "   DIFFERS"
        out.append(f"{t.currency:<9}{t.shop_sales!s:>14}{t.book_invoices!s:>14}{t.shop_refunds!s:>14}"
                   f"{t.book_credits!s:>14}{mark}")  # fmt: skip
    out += ["", f"{'VAT code':<14}{'country':<8}{'rate':>7}{'net':>14}{'VAT':>12}"]
    out += [f"{t.code or '(none)':<14}{t.country:<8}{t.rate!s:>7}{t.net!s:>14}{t.vat!s:>12}" for t in report.codes]
    out.append("")
    if report.ok:
        out.append("everything agrees")
    else:
        out.append(f"{len(report.differences)} difference(s):")
        out += [f"  {d.kind:<9} {d.message}" + (f"  [{d.work_key}]" if d.work_key else "")
                for d in report.differences]  # fmt: skip
    return "\n".join(out)
