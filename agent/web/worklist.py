"""The work list as a bookkeeper reads it: order number, date, customer, total, invoice number and state,
filtered by state, order date and text, paged by a cursor, every time in the shop's time zone."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from agent.journal import WORK_STATES, Journal
from agent.journal.worklist import ListFilter, ListRow, WorkListJournal

PAGE = 50


class BadFilter(ValueError):
    """A filter the page cannot use; ``str()`` is shown to the user."""


def local(ts: float | None, tz: ZoneInfo) -> str:
    return datetime.fromtimestamp(ts, tz).strftime("%Y-%m-%d %H:%M") if ts else ""


def local_iso(gmt: str | None, tz: ZoneInfo) -> str:
    """A WooCommerce ``*_gmt`` date (UTC, no offset) in the shop's time zone."""
    if not gmt:
        return ""
    return datetime.fromisoformat(gmt[:19]).replace(tzinfo=UTC).astimezone(tz).strftime("%Y-%m-%d %H:%M")


def local_z(text: str | None, tz: ZoneInfo) -> str:
    """An ISO time with ``Z`` (the JSON API's form) in the shop's time zone, for the page."""
    if not text:
        return ""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")


def _day(text: str | None, what: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadFilter(f"{what} must be a date like 2026-07-31") from None


def _cursor(text: str | None) -> tuple[float, str] | None:
    if not text:
        return None
    at, _, key = text.partition("~")
    try:
        return float(at), key
    except ValueError:
        raise BadFilter("before must come from a 'next page' link") from None


def parse_filter(query: Mapping[str, str]) -> ListFilter:
    state = query.get("state") or None
    if state is not None and state not in WORK_STATES:
        raise BadFilter(f"state must be one of {', '.join(WORK_STATES)}")
    start, last = _day(query.get("from"), "from"), _day(query.get("to"), "to")
    end = date.fromordinal(last.toordinal() + 1) if last else None  # "to" is the last day shown
    return ListFilter(state, start, end, (query.get("q") or "")[:100], _cursor(query.get("before")))


def _row(r: ListRow, tz: ZoneInfo) -> dict[str, Any]:
    return {
        "key": r.key, "state": r.state, "attempts": r.attempts, "reason": r.reason, "error": r.error,
        "updated_at": local(r.updated_at, tz), "number": r.number, "ordered_at": local_iso(r.ordered_at, tz),
        "customer": r.customer, "total": r.total, "currency": r.currency, "document": r.document,
    }  # fmt: skip


async def work_section(journal: Journal, query: Mapping[str, str], tz: ZoneInfo) -> dict[str, Any]:
    """Everything the work list needs: rows, the filter as given, and the next page's link."""
    f = parse_filter(query)
    rows = await WorkListJournal(journal).page(f, PAGE + 1)
    more, rows = len(rows) > PAGE, rows[:PAGE]
    kept = {k: v for k, v in query.items() if k in ("state", "from", "to", "q") and v}
    next_url = None
    if more:
        last = rows[-1]
        next_url = "/?" + urlencode({**kept, "before": f"{last.updated_at!r}~{last.key}"})
    return {"rows": [_row(r, tz) for r in rows], "filter": kept, "next_url": next_url, "paged": f.before is not None,
            "here": "/?" + urlencode(kept) if kept else "/"}  # fmt: skip
