"""The EU One-Stop-Shop figures of a quarter: net and VAT per member state and rate, sales minus
credit notes, read from the books (what Dynaccount booked is what the OSS return declares)."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from agent.reconcile.documents import ZERO, BookDoc
from agent.reconcile.places import plain_rate

_QUARTER = re.compile(r"(?P<year>\d{4})-?Q(?P<q>[1-4])\Z", re.IGNORECASE)


def parse_quarter(text: str) -> tuple[date, date]:
    """``2026Q3`` (or ``2026-Q3``) → [2026-07-01, 2026-10-01)."""
    match = _QUARTER.match(text.strip())
    if match is None:
        raise ValueError(f"a quarter looks like 2026Q3, not {text!r}")
    year, quarter = int(match["year"]), int(match["q"])
    start = date(year, 3 * quarter - 2, 1)
    end = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
    return start, end


@dataclass
class OssRow:
    country: str
    rate: Decimal
    currency: str
    sales_net: Decimal = ZERO
    sales_vat: Decimal = ZERO
    credited_net: Decimal = ZERO
    credited_vat: Decimal = ZERO

    @property
    def net(self) -> Decimal:
        return self.sales_net - self.credited_net

    @property
    def vat(self) -> Decimal:
        return self.sales_vat - self.credited_vat


@dataclass(frozen=True)
class OssReport:
    quarter: str
    start: date
    end: date
    rows: list[OssRow]
    drafts: int  # unbooked documents left out (the return declares booked figures only)


def oss_report(quarter: str, books: Sequence[BookDoc]) -> OssReport:
    """Booked documents dated in the quarter; lines on OSS codes grouped by (country, rate, currency)."""
    start, end = parse_quarter(quarter)
    rows: dict[tuple[str, Decimal, str], OssRow] = {}
    for book in books:
        if not book.booked:
            continue
        for line in book.lines:
            place = line.place
            if not place.oss:
                continue
            key = (place.country, plain_rate(place.rate), book.currency)
            row = rows.setdefault(key, OssRow(*key))
            if book.kind == "invoice":
                row.sales_net += line.net
                row.sales_vat += line.vat
            else:
                row.credited_net += line.net
                row.credited_vat += line.vat
    ordered = [rows[k] for k in sorted(rows, key=lambda k: (k[0], -k[1], k[2]))]
    return OssReport(quarter.upper(), start, end, ordered, sum(1 for b in books if not b.booked))


COLUMNS = ("country", "rate", "currency", "sales_net", "sales_vat", "credited_net", "credited_vat", "net", "vat")


def _row_values(row: OssRow) -> list[str]:
    return [row.country, str(row.rate), row.currency, *(str(getattr(row, c)) for c in COLUMNS[3:])]


def to_csv(report: OssReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(_row_values(r) for r in report.rows)
    return out.getvalue()


def to_dict(report: OssReport) -> dict[str, object]:
    return {
        "quarter": report.quarter, "from": report.start.isoformat(), "to": report.end.isoformat(),
        "drafts_left_out": report.drafts,
        "rows": [dict(zip(COLUMNS, _row_values(r), strict=True)) for r in report.rows],
    }  # fmt: skip


def to_json(report: OssReport) -> str:
    return json.dumps(to_dict(report), indent=2)


def to_table(report: OssReport) -> str:
    head = f"OSS {report.quarter} ({report.start} – {report.end}, exclusive)"
    if not report.rows:
        return f"{head}\nno OSS sales"
    lines = [head, f"{'country':<8}{'rate':>7}  {'cur':<4}{'net':>14}{'VAT':>12}"]
    lines += [f"{r.country:<8}{r.rate!s:>7}  {r.currency:<4}{r.net!s:>14}{r.vat!s:>12}" for r in report.rows]
    if report.drafts:
        lines.append(f"{report.drafts} unbooked document(s) left out")
    return "\n".join(lines)
