"""The aiohttp application keys: a leaf, so the web edge and the composition root share them
without importing each other (the types are only named for the type checker)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from agent.clock import Clock
    from agent.config import Config
    from agent.journal import Journal
    from agent.metrics import Metrics
    from agent.services import Services
    from agent.web.intake import Intake

CONFIG: web.AppKey[Config] = web.AppKey("config")
CLOCK: web.AppKey[Clock] = web.AppKey("clock")
JOURNAL: web.AppKey[Journal] = web.AppKey("journal")
INTAKE: web.AppKey[Intake] = web.AppKey("intake")
AUTOSTART: web.AppKey[bool] = web.AppKey("autostart")
SERVICES: web.AppKey[Services] = web.AppKey("services")
METRICS: web.AppKey[Metrics] = web.AppKey("metrics")
