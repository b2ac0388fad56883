"""Subscription renewals: which subscription an order renews and the period it pays for.

WooCommerce Subscriptions creates a renewal order on the schedule's payment date with
``_subscription_renewal = <subscription id>`` (woocommerce.md §10); the period it covers starts on
that date and lasts ``billing_interval`` × ``billing_period``. The invoice names both, and its
delivery date is the period start, so a bookkeeper can tell one month's renewal from the next.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta

from agent.plan.types import Subscription
from agent.woo.models import Order


def subscription_id(order: Order) -> str:
    return str(order.meta("_subscription_renewal") or "").strip()


def _add(start: date, period: str, interval: int) -> date:
    if period == "day":
        return start + timedelta(days=interval)
    if period == "week":
        return start + timedelta(weeks=interval)
    months = interval * (12 if period == "year" else 1)
    year, month = divmod(start.month - 1 + months, 12)
    year, month = start.year + year, month + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def period(order: Order, subscription: Subscription | None) -> tuple[date, date] | None:
    """(first day, last day) of the period a renewal order pays for, when the schedule is known."""
    if subscription is None or not order.date_created_gmt or subscription.billing_interval < 1:
        return None
    if subscription.billing_period not in ("day", "week", "month", "year"):
        return None
    start = datetime.fromisoformat(order.date_created_gmt).date()
    return start, _add(start, subscription.billing_period, subscription.billing_interval) - timedelta(days=1)


def renewal_fields(order: Order, subscription: Subscription | None) -> tuple[dict[str, object], str | None]:
    """Text fields for ``invoice.renewal_text`` and the delivery date (period start, ISO)."""
    span = period(order, subscription)
    text = f" for {span[0].isoformat()} – {span[1].isoformat()}" if span else ""
    return {"subscription": subscription_id(order) or "?", "period": text}, span[0].isoformat() if span else None
