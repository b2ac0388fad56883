"""systemd's notify protocol (``sd_notify``): one datagram per message to ``$NOTIFY_SOCKET``.

The ten lines of the protocol instead of a dependency: the socket is an ``AF_UNIX`` datagram socket,
its path starts with ``@`` for the abstract namespace, each message is ``KEY=value`` lines. Outside
systemd (no ``NOTIFY_SOCKET``) every call is a no-op, so the daemon runs the same under a terminal.
The watchdog interval comes from ``$WATCHDOG_USEC`` (set by ``WatchdogSec=`` in the unit); the worker
pings at half of it.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger(__name__)


class Notifier:
    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        path = env.get("NOTIFY_SOCKET", "")
        self._address = "\0" + path[1:] if path.startswith("@") else path
        usec = env.get("WATCHDOG_USEC", "")
        self.watchdog_interval: float | None = int(usec) / 2_000_000 if usec.isdigit() and int(usec) > 0 else None

    @property
    def enabled(self) -> bool:
        return bool(self._address)

    def send(self, **fields: str) -> bool:
        """Send ``KEY=value`` lines (keys upper-cased); False when not under systemd or the send failed."""
        if not self._address:
            return False
        message = "\n".join(f"{key.upper()}={value}" for key, value in fields.items()).encode()
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.sendto(message, self._address)
        except OSError as exc:  # systemd gone or socket unreadable: never fatal to the agent
            log.warning("sd_notify failed: %s", exc)
            return False
        return True

    def ready(self, status: str) -> bool:
        return self.send(ready="1", status=status)

    def status(self, status: str) -> bool:
        return self.send(status=status)

    def watchdog(self) -> bool:
        return self.send(watchdog="1")

    def stopping(self) -> bool:
        return self.send(stopping="1", status="stopping")
