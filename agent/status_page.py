"""The local status page (HTML). Placeholder: the page is being written."""

from __future__ import annotations

from aiohttp import web


def add_routes(app: web.Application) -> None:
    """Register the page's routes on the agent's application."""
