"""The subscription a renewal order renews (WooCommerce Subscriptions, ``GET /wc/v3/subscriptions/<id>``),
read only for renewal orders so the invoice can name the period it covers."""

from __future__ import annotations

import logging

from agent.plan.renewal import subscription_id
from agent.plan.types import Subscription
from agent.woo.client import WooClient
from agent.woo.errors import WooNotFound
from agent.woo.models import Order

log = logging.getLogger(__name__)


async def subscription_of(woo: WooClient, order: Order) -> Subscription | None:
    """None when the order is no renewal, or the subscription (or the Subscriptions REST route) is gone:
    the invoice then names the subscription without a period."""
    sid = subscription_id(order) if order.is_renewal else ""
    if not sid.isdigit():
        return None
    try:
        data = await woo.request("GET", f"subscriptions/{sid}")
    except WooNotFound:
        log.info("subscription %s of renewal order %s not found; invoicing without its period", sid, order.id)
        return None
    try:
        return Subscription(int(sid), str(data.get("billing_period") or ""), int(data.get("billing_interval") or 0))
    except (TypeError, ValueError):
        return None
