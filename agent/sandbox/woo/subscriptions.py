"""WooCommerce Subscriptions' ``GET /wc/v3/subscriptions/<id>`` for the seeded subscriptions (the fields
the agent reads: the schedule). A shop without the plugin answers ``rest_no_route`` (404), which the
catch-all route already does for every other id."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from agent.sandbox.woo.http import error_response, json_response
from agent.sandbox.woo.keys import V3

# The renewal orders of the demo carry _subscription_renewal = 6001 (as tests/fixtures subscription.json).
SUBSCRIPTIONS: dict[int, dict[str, Any]] = {
    6001: {"id": 6001, "parent_id": 5900, "status": "active", "currency": "DKK", "customer_id": 42,
           "billing_period": "month", "billing_interval": "1", "start_date_gmt": "2025-08-15T04:00:09",
           "next_payment_date_gmt": "2025-11-15T04:00:09", "last_payment_date_gmt": "2025-10-15T04:00:12",
           "end_date_gmt": "", "payment_method": "stripe"},
    6002: {"id": 6002, "parent_id": 5901, "status": "active", "currency": "DKK", "customer_id": 43,
           "billing_period": "week", "billing_interval": "2", "start_date_gmt": "2025-09-01T06:00:00",
           "next_payment_date_gmt": "2025-11-24T06:00:00", "last_payment_date_gmt": "2025-11-10T06:00:00",
           "end_date_gmt": "", "payment_method": "quickpay"},
}  # fmt: skip


async def get_subscription(request: web.Request) -> web.Response:
    found = SUBSCRIPTIONS.get(int(request.match_info["id"]))
    if found is None:
        return error_response("woocommerce_rest_shop_subscription_invalid_id", "Invalid ID.", 404)
    return json_response(found)


def add_subscription_routes(app: web.Application) -> None:
    app.router.add_get(V3 + r"/subscriptions/{id:\d+}", get_subscription)
