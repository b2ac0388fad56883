"""``dynaccount-agent run``: serve the agent and speak systemd's notify protocol while doing it.

``web.run_app`` cannot tell when the listener is bound, so the daemon runs the application itself:
``AppRunner.setup()`` opens the journal and starts the services (the cleanup contexts), ``TCPSite.start()``
binds, and only then ``READY=1``. SIGTERM/SIGINT stop it gracefully like ``run_app`` does: ``STOPPING=1``,
requests in flight finish (up to the shutdown timeout), the worker and sweep stop, the journal closes.
The worker loop pings the watchdog, so a hung loop gets the service restarted (``WatchdogSec=``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time

from aiohttp import web

from agent.app import JOURNAL, SERVICES, create_app, runner_options
from agent.config import Config
from agent.notify import Notifier

log = logging.getLogger(__name__)
STATUS_SECONDS = 5.0


def queue_line(work: dict[str, int]) -> str:
    return ", ".join(f"{work.get(s, 0)} {s}" for s in ("pending", "running", "failed", "held"))


class Watchdog:
    """``WATCHDOG=1`` at most once per interval, from the worker loop's tick."""

    def __init__(self, notifier: Notifier) -> None:
        self._notifier = notifier
        self._last = 0.0

    def tick(self) -> None:
        interval = self._notifier.watchdog_interval
        now = time.monotonic()
        if interval is not None and now - self._last >= interval:
            self._last = now
            self._notifier.watchdog()


async def _report_status(app: web.Application, notifier: Notifier, where: str) -> None:
    """A ``STATUS=`` line whenever the queue changes (``systemctl status`` shows it)."""
    last = ""
    while True:
        await asyncio.sleep(STATUS_SECONDS)
        try:
            line = f"{where}; {queue_line((await app[JOURNAL].counts()).work)}"
        except Exception as exc:  # the status line must never take the daemon down
            line = f"{where}; journal unreadable: {type(exc).__name__}"
        if line != last:
            notifier.status(line)
            last = line


async def serve(config: Config, notifier: Notifier | None = None) -> None:
    notifier = notifier or Notifier()
    app = create_app(config)
    options = runner_options(config)  # the header read timeout, and a shutdown inside systemd's limit
    runner = web.AppRunner(app, access_log=None, keepalive_timeout=options["keepalive_timeout"],
                           shutdown_timeout=options["shutdown_timeout"])
    await runner.setup()  # journal open, worker and sweep started
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    status_task: asyncio.Task[None] | None = None
    try:
        await web.TCPSite(runner, config.server.host, config.server.port).start()
        where = f"listening on {config.server.host}:{config.server.port}"
        log.info("%s", where)
        notifier.ready(f"{where}; {queue_line((await app[JOURNAL].counts()).work)}")
        services = app.get(SERVICES)
        if services is not None:  # after READY=1: the first WATCHDOG=1 must not come before it
            services.worker.on_tick = Watchdog(notifier).tick
        status_task = asyncio.create_task(_report_status(app, notifier, where), name="sd-status")
        await stop.wait()
        log.info("stopping")
    finally:
        notifier.stopping()
        if status_task is not None:
            status_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await status_task
        await runner.cleanup()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
