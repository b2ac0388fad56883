"""Typed application keys shared by the sandbox's route modules."""

from __future__ import annotations

from aiohttp import web

from agent.sandbox.woo.state import ShopState
from agent.sandbox.woo.webhooks import Dispatcher

STATE: web.AppKey[ShopState] = web.AppKey("woo_state", ShopState)
DISPATCHER: web.AppKey[Dispatcher] = web.AppKey("woo_dispatcher", Dispatcher)
V3 = "/wp-json/wc/v3"
