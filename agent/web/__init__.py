"""The HTTP edge: webhook intake, the status JSON and page, the retry handler, /healthz, /metrics, and the
operations views (reconciliation, OSS report, approval queue)."""

from __future__ import annotations

from aiohttp import web

from agent.web import api, files, metrics, ops, page

WEBHOOK_PATH = "/webhooks/woocommerce"


def add_routes(app: web.Application) -> None:
    """Register every route of the agent's application."""
    api.add_routes(app, WEBHOOK_PATH)
    page.add_routes(app)
    metrics.add_routes(app)
    ops.add_routes(app)
    files.add_routes(app)


__all__ = ["WEBHOOK_PATH", "add_routes"]
