"""Alerts to the shop owner: one mail when an incident starts, one when it ends, and a digest of
what changed at most every ``digest_minutes`` — never one mail per order.

The engine asks its sources for the problems present now (:data:`ProblemSource`), keeps incidents
in the journal, and puts its mails in the same outbox as the invoices (so each goes out once).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

from agent.clock import Clock, iso
from agent.config_mail import AlertsConfig, MailConfig
from agent.health.problems import Problem, ProblemSource
from agent.journal import Journal
from agent.journal.mail import Incident, MailJournal, NewMail
from agent.mail.render import message_id

log = logging.getLogger(__name__)
DIGEST_KEY = "alerts.digest"  # kv: {"at": last digest time, "told": {incident key: detail told}}


class AlertEngine:
    def __init__(self, journal: Journal, alerts: AlertsConfig, mail: MailConfig, clock: Clock,
                 sources: Sequence[ProblemSource], *, agent_name: str, status_url: str) -> None:  # fmt: skip
        self._journal = journal
        self._outbox = MailJournal(journal)
        self._alerts = alerts
        self._mail = mail
        self._clock = clock
        self._sources = list(sources)
        self._agent = {"name": agent_name, "status_url": status_url}
        self.on_queued: Callable[[], None] = lambda: None
        self.last_error: str | None = None
        self.last_error_at: float | None = None
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    def _mail_for(self, reference: str, event: str, incidents: list[tuple[Incident, float | None]]) -> NewMail:
        context = {
            "event": event, "language": self._alerts.language, "agent": self._agent,
            "incidents": [{"key": i.key, "title": i.title, "detail": i.detail, "since": iso(i.first_seen),
                           "until": iso(end) if end else None} for i, end in incidents],
        }  # fmt: skip
        return NewMail(reference=reference, kind="alert", recipient=", ".join(self._alerts.to),
                       language=self._alerts.language, message_id=message_id(reference, self._mail.from_address),
                       context=context)  # fmt: skip

    async def _current(self) -> tuple[dict[str, Problem], bool]:
        """The problems present now, and whether every source answered (else nothing is closed)."""
        found: dict[str, Problem] = {}
        complete = True
        for source in self._sources:
            try:
                found.update((p.key, p) for p in await source())
            except Exception as exc:  # a source that cannot answer must not end its incidents
                complete = False
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("alert source failed")
        return found, complete

    async def tick(self) -> int:
        """Look once; returns how many alert mails were queued."""
        problems, complete = await self._current()
        for p in problems.values():
            await self._outbox.see_incident(p.key, p.title, p.detail)
        digest = json.loads(await self._journal.get_value(DIGEST_KEY) or '{"at": 0, "told": {}}')
        queued, now = 0, self._clock.now()
        for inc in await self._outbox.open_incidents():
            queued += await self._step(inc, problems.get(inc.key), complete, now, digest)
        queued += await self._digest(digest, now)
        await self._journal.set_value(DIGEST_KEY, json.dumps(digest))
        if queued:
            self.on_queued()
        return queued

    async def _step(self, inc: Incident, problem: Problem | None, complete: bool, now: float,
                    digest: dict[str, Any]) -> int:  # fmt: skip
        """End a gone incident (end mail if it was announced); announce one that lasted its grace.
        A start mail also restarts the digest's clock: the owner was just told."""
        told = digest["told"]
        if problem is None and complete:
            end = self._mail_for(f"alert:{inc.id}:end", "end", [(inc, now)]) if inc.announced else None
            await self._outbox.close_incident(inc.id, end)
            told.pop(inc.key, None)
            return int(end is not None)
        if problem is not None and not inc.announced and now - min(problem.since, inc.first_seen) >= problem.grace:
            start = self._mail_for(f"alert:{inc.id}:start", "start", [(inc, None)])
            await self._outbox.announce_incident(inc.id, start)
            told[inc.key] = inc.detail
            digest["at"] = now
            return 1
        return 0

    async def _digest(self, digest: dict[str, Any], now: float) -> int:
        told = digest["told"]
        changed = [i for i in await self._outbox.open_incidents() if i.announced and told.get(i.key) != i.detail]
        if not changed or now - float(str(digest["at"])) < self._alerts.digest_minutes * 60:
            return 0
        await self._outbox.enqueue(self._mail_for(f"alert:digest:{int(now)}", "digest", [(i, None) for i in changed]))
        digest["at"] = now
        told.update({i.key: i.detail for i in changed})
        return 1

    # -- the loop -----------------------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="alerts")

    async def run(self) -> None:
        while not self._stop.is_set():
            try:
                await self.tick()
            except Exception as exc:  # the loop outlives one bad round
                self.last_error, self.last_error_at = f"{type(exc).__name__}: {exc}", self._clock.now()
                log.exception("alert round failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=self._alerts.check_seconds)

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task
