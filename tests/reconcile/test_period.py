"""A period's days are the shop's: a month closes at the shop's midnight, not at UTC's."""

from __future__ import annotations

from datetime import UTC, date
from zoneinfo import ZoneInfo

from agent.reconcile import Period

CPH = ZoneInfo("Europe/Copenhagen")


def test_an_order_paid_late_on_the_31st_utc_belongs_to_the_next_danish_month() -> None:
    january, february = Period(date(2026, 1, 1), date(2026, 2, 1), CPH), Period(date(2026, 2, 1), date(2026, 3, 1), CPH)
    late = "2026-01-31T23:30:00"  # 00:30 on 1 February in Copenhagen (UTC+1)
    assert february.holds(late) and not january.holds(late)
    assert january.holds("2026-01-31T22:59:59") and not january.holds("2026-01-31T23:00:00")
    assert Period(date(2026, 1, 1), date(2026, 2, 1), UTC).holds(late)  # in UTC it is still January
    # summer time: the July period starts at 22:00 UTC on 30 June
    july = Period(date(2026, 7, 1), date(2026, 8, 1), CPH)
    assert july.holds("2026-06-30T22:00:00") and not july.holds("2026-06-30T21:59:59")
    assert july.bounds[0].isoformat() == "2026-06-30T22:00:00+00:00"
    assert not july.holds("")
