"""Problems the owner is alerted about, as seen today: what the worker meets when it talks to
Dynaccount and WooCommerce, and counts from the journal.

Each source is an :data:`~agent.health.problems.ProblemSource`: a coroutine returning the problems
present now. A fuller up/down state of the outside systems (issue 11) plugs in as one more source.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from agent.clock import Clock, iso
from agent.dynaccount.errors import DynaccountAuthError, DynaccountConnectionError, DynaccountUnavailable
from agent.health.problems import Problem
from agent.journal import Journal, WorkItem
from agent.journal.mail import MailJournal
from agent.outcomes import Outcome, cause
from agent.woo.errors import WooAuthError, WooConnectionError, WooUnavailable

Processor = Callable[[WorkItem], Awaitable[Outcome]]  # as the worker runs them

log = logging.getLogger(__name__)

# A system is down after this many failed calls in a row (refused keys: at once). Fewer would let a 20-30 % fault
# rate throttle all work to one probe item at a time (the worker's gate), more would hide an outage longer.
DOWN_AFTER_FAILURES = 5

SYSTEMS = {"dynaccount": "Dynaccount", "woocommerce": "WooCommerce"}


@dataclass
class Down:
    since: float
    auth: bool
    error: str


def _system(exc: BaseException) -> tuple[str, bool] | None:
    """(system, keys refused) for an error that means a system is unreachable or refuses the keys."""
    exc = cause(exc)  # a pass that got further before failing still failed on the system
    if isinstance(exc, DynaccountAuthError):
        return "dynaccount", True
    if isinstance(exc, WooAuthError):
        return "woocommerce", True
    if isinstance(exc, DynaccountConnectionError | DynaccountUnavailable):
        return "dynaccount", False
    if isinstance(exc, WooConnectionError | WooUnavailable):
        return "woocommerce", False
    return None


class SystemHealth:
    """Up/down of the outside systems as the worker's and the sweep's calls found them.

    A system is ``unknown`` until the first call, then ``up``, ``down`` (unreachable, 5xx) or
    ``refusing_keys`` (401/403), each with the time it entered that state.
    """

    def __init__(self, clock: Clock, *, grace_seconds: float) -> None:
        self._clock = clock
        self._grace = grace_seconds
        self.down: dict[str, Down] = {}
        self.up_since: dict[str, float] = {}
        self._failures: dict[str, int] = {}  # failed calls in a row, per system


    def failed(self, exc: BaseException) -> None:
        found = _system(exc)
        if found is None:
            return
        system, auth = found
        self._failures[system] = self._failures.get(system, 0) + 1
        if not auth and self._failures[system] < DOWN_AFTER_FAILURES and system not in self.down:
            return  # one 5xx or dropped connection among answers is a passing fault, not an outage
        current = self.down.get(system)
        since = current.since if current is not None and current.auth == auth else self._clock.now()
        if current is None:
            log.warning("%s %s", SYSTEMS[system], "refuses the API keys" if auth else "is unreachable")
        self.down[system] = Down(since, auth, f"{type(exc).__name__}: {exc}")
        self.up_since.pop(system, None)

    def call_hook(self, system: str) -> Callable[[str, str, float], None]:
        """Told of every call a client library made (its ``on_call``): an answer means the system is up,
        a failed call counts towards ``DOWN_AFTER_FAILURES`` in a row. Finer than whole work items: under a
        fault mix almost every order pass meets one failed call, yet most calls are answered."""

        def observe(method: str, outcome: str, seconds: float) -> None:
            if outcome in ("connection", "unavailable", "timeout"):
                self._failures[system] = self._failures.get(system, 0) + 1
            elif outcome != "cancelled" and outcome != "auth":
                self.reached(system)

        return observe

    def reached(self, *systems: str) -> None:
        for system in systems:
            self._failures.pop(system, None)
            if self.down.pop(system, None) is not None:
                log.warning("%s answers again", SYSTEMS[system])
            self.up_since.setdefault(system, self._clock.now())

    def paused(self) -> str | None:
        """Why new work waits: a system it needs is down (the worker then sends only a probe)."""
        reasons = [f"{SYSTEMS[name]} {_words(d)} since {iso(d.since)}" for name, d in sorted(self.down.items())]
        return "; ".join(reasons) or None

    def states(self, waiting: int) -> dict[str, dict[str, Any]]:
        """For /api/status, /healthz and the page: each system's state, since when, the work waiting on it."""
        out: dict[str, dict[str, Any]] = {}
        for system, title in SYSTEMS.items():
            down = self.down.get(system)
            if down is not None:
                state = "refusing_keys" if down.auth else "down"
                out[system] = {"name": title, "state": state, "since": iso(down.since), "error": down.error,
                               "waiting": waiting}  # fmt: skip
            else:
                since = self.up_since.get(system)
                out[system] = {"name": title, "state": "unknown" if since is None else "up", "error": None,
                               "since": iso(since) if since is not None else None, "waiting": 0}  # fmt: skip
        return out

    def watch(self, process: Processor, *, loads_from_woo: bool = True) -> Processor:
        """Wrap a worker processor: its successes and failures tell whether the systems answer.
        ``loads_from_woo=False``: runs that never call WooCommerce (file orders) say nothing about it."""
        called = tuple(SYSTEMS) if loads_from_woo else ("dynaccount",)

        async def watched(item: WorkItem) -> Outcome:
            try:
                outcome = await process(item)
            except Exception as exc:
                self.failed(exc)
                found = _system(exc)
                if found is None:
                    self.reached(*called)  # a refusal of the request itself: the system answered
                elif found[0] == "dynaccount" and loads_from_woo:
                    self.reached("woocommerce")  # the order was loaded from WooCommerce before
                raise
            # Every order run loads the order from WooCommerce first; only done and held runs are sure
            # to have talked to Dynaccount (a skipped one may not have), so only they end its outage.
            loaded = ("woocommerce",) if loads_from_woo else ()
            self.reached(*(called if outcome.state in ("done", "held") else loaded))
            return outcome

        return watched

    async def problems(self) -> list[Problem]:
        out = []
        for system, down in sorted(self.down.items()):
            out.append(Problem(f"{system}-down", f"{SYSTEMS[system]} {_words(down)}", down.error, down.since,
                               self._grace))  # fmt: skip
        return out


def _words(down: Down) -> str:
    return "refuses the API keys" if down.auth else "is unreachable"


class JournalProblems:
    """Failed and held work, and mail that failed or may not have arrived: counts, never one per order."""

    def __init__(self, journal: Journal) -> None:
        self._journal = journal
        self._outbox = MailJournal(journal)

    async def _items(self, state: str, title: str) -> list[Problem]:
        items = await self._journal.list_work(states=(state,), limit=20)
        if not items:
            return []
        count = (await self._journal.counts()).work.get(state, 0)
        keys = ", ".join(i.key for i in items[:10]) + (" …" if count > 10 else "")
        since = min(i.updated_at for i in items)
        return [Problem(f"items-{state}", title, f"{count} item(s) {state}: {keys}", since)]

    async def problems(self) -> list[Problem]:
        out = await self._items("failed", "Orders failed")
        out += await self._items("held", "Orders held as drafts")
        counts = await self._outbox.counts()
        for state, title in (("failed", "Mails failed"), ("unknown", "Mails that may not have arrived")):
            if counts[state]:
                rows = await self._outbox.recent(state=state, limit=10)
                refs = ", ".join(r.reference for r in rows)
                since = min(r.updated_at for r in rows)
                out.append(Problem(f"mail-{state}", title, f"{counts[state]} mail(s) {state}: {refs}", since))
        return out


class SweepProblems:
    """The sweep's last error (it polls WooCommerce and heals the agent's webhooks): a webhook that
    stays disabled because healing it fails shows up here until issue 11's webhook state replaces it."""

    def __init__(self, status: Callable[[], str | None], clock: Clock, *, grace_seconds: float) -> None:
        self._status = status
        self._clock = clock
        self._grace = grace_seconds
        self._since: float | None = None

    async def problems(self) -> list[Problem]:
        error = self._status()
        if error is None:
            self._since = None
            return []
        self._since = self._since or self._clock.now()
        title = "WooCommerce sweep and webhook healing fail"
        return [Problem("sweep-failing", title, error, self._since, self._grace)]
