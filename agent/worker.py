"""The worker: claim due work, process it, record the outcome; retries with backoff.

At most one item per resource is in flight (a claimed item is ``running`` in the journal), up to
``concurrency`` items in parallel. ``run_once()`` processes what is due now and returns, for tests;
``run()`` loops until ``stop()``. On stop, work in hand gets a grace period and is then cancelled;
a cancelled item stays ``running`` in the journal and is put back at the next start
(``reset_running``), which is safe because applying a plan is idempotent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable

from agent.clock import Clock
from agent.config import WorkerConfig
from agent.journal import Journal, WorkItem
from agent.outcomes import ErrorKind, Outcome, Progressed, cause, classify
from agent.retry import decide

log = logging.getLogger(__name__)


Processor = Callable[[WorkItem], Awaitable[Outcome]]


class Worker:
    def __init__(
        self,
        journal: Journal,
        process: Processor,
        config: WorkerConfig,
        clock: Clock,
        *,
        rand: Callable[[], float] = random.random,
        grace_seconds: float = 20.0,
    ) -> None:
        self._journal = journal
        self._process = process
        self._config = config
        self._clock = clock
        self._rand = rand
        self._grace = grace_seconds
        self._inflight: dict[str, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        self._stopping = False
        self._loop_task: asyncio.Task[None] | None = None
        self.paused_reason: str | None = None
        self.paused_until: float = 0.0
        self.processed = 0
        self.errors = 0  # failed attempts since start (metrics)
        self.last_run: float | None = None  # when the loop last looked for work (metrics, watchdog)
        self.on_tick: Callable[[], None] | None = None  # told each time the loop goes round (systemd watchdog)
        # Why new work must wait although the credentials work (an outside system is down): then only
        # one probe item runs per backoff_base_seconds, so an outage does not use up every item's attempts.
        self.gate: Callable[[], str | None] | None = None
        self._probe_at = 0.0
        self.last_error: str | None = None  # the loop's own last error (journal trouble), with its time
        self.last_error_at: float | None = None

    def wake(self) -> None:
        self._wake.set()

    async def run_once(self) -> int:
        """Process every item due now (in waves of ``concurrency``); return how many ran."""
        total = 0
        while True:
            items = await self._claim()
            if not items:
                return total
            await asyncio.gather(*(self._handle(item) for item in items))
            total += len(items)

    @property
    def paused(self) -> str | None:
        return self.paused_reason or (self.gate() if self.gate is not None else None)

    async def _claim(self) -> list[WorkItem]:
        now = self._clock.now()
        self.last_run = now
        if self.on_tick is not None:
            self.on_tick()
        if self._stopping or now < self.paused_until:
            return []
        if not self.paused_reason and self.gate is not None and self.gate() is not None:
            if self._inflight or now < self._probe_at:
                return []
            self._probe_at = now + self._config.backoff_base_seconds
            return await self._journal.claim_due(1, exclude=frozenset(self._inflight))
        # While paused by an auth error, probe with a single item before opening the gates.
        room = 1 if self.paused_reason else self._config.concurrency - len(self._inflight)
        return await self._journal.claim_due(room, exclude=frozenset(self._inflight))

    async def _handle(self, item: WorkItem) -> None:
        try:
            outcome = await self._process(item)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            await asyncio.shield(self._failed(item, exc))
            return
        if self.paused_reason:
            log.warning("work resumed: %s", item.key)
            self.paused_reason, self.paused_until = None, 0.0
        await asyncio.shield(self._journal.finish(item, outcome.state, reason=outcome.reason))
        self.processed += 1

    async def _failed(self, item: WorkItem, exc: BaseException) -> None:
        self.errors += 1
        kind, retry_after = classify(exc)
        progress = exc.progress if isinstance(exc, Progressed) else None
        exc = cause(exc)
        message = f"{type(exc).__name__}: {exc}"
        # Attempts count failures without progress: a pass that got further starts the count again.
        attempt = 1 if progress else item.attempts + 1
        decision = decide(
            kind, attempt, max_attempts=self._config.max_attempts,
            base=self._config.backoff_base_seconds, cap=self._config.backoff_cap_seconds,
            rand=self._rand(), retry_after=retry_after, slow=self._config.slow_retry_seconds,
        )  # fmt: skip
        if kind is ErrorKind.AUTH:
            if self.paused_reason is None:
                log.error("credentials refused, pausing work: %s", message)
            self.paused_reason = message
            self.paused_until = self._clock.now() + (decision.delay or 0.0)
        elif kind is ErrorKind.PERMANENT:
            log.error("%s failed: %s", item.key, message)
        else:
            log.info("%s will be retried: %s", item.key, message)
        if decision.slow:
            message += (f" — {attempt} failed attempts without progress: retrying every"
                        f" {_duration(decision.delay or 0.0)} until it passes")  # fmt: skip
        retry_at = self._clock.now() + decision.delay if decision.delay is not None else None
        await self._journal.finish(item, decision.state, error=message, retry_at=retry_at, attempts=attempt)
        await self._journal.add_event(
            item.key, message, level="error" if decision.state == "failed" else "warning",
            data={"kind": kind.value, "attempt": attempt, "retry_in": decision.delay, "progress": progress,
                  "slow": decision.slow},
        )  # fmt: skip

    # -- the long-running loop ------------------------------------------------------------------

    def start(self) -> None:
        self._loop_task = asyncio.create_task(self.run(), name="worker")

    async def run(self) -> None:
        await self._journal.reset_running()
        while not self._stopping:
            try:
                for item in await self._claim():
                    task = asyncio.create_task(self._guarded(item), name=f"work {item.key}")
                    self._inflight[item.key] = task
                    task.add_done_callback(self._done)
                self.last_error = None
            except Exception as exc:  # journal trouble: recorded and shown, the loop keeps its schedule
                self._loop_failed(exc)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._config.poll_seconds)

    async def _guarded(self, item: WorkItem) -> None:
        try:
            await self._handle(item)
        except Exception as exc:  # recording the outcome failed: the item stays running until restart
            self._loop_failed(exc)

    def _loop_failed(self, exc: BaseException) -> None:
        if self.last_error is None:
            log.exception("worker round failed")
        self.last_error, self.last_error_at = f"{type(exc).__name__}: {exc}", self._clock.now()

    def _done(self, task: asyncio.Task[None]) -> None:
        for key, running in list(self._inflight.items()):
            if running is task:
                del self._inflight[key]
        self._wake.set()

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._loop_task is not None:
            try:
                await self._loop_task
            except Exception:  # already recorded; stopping must go on
                log.exception("worker loop had ended with an error")
        if self._inflight:
            _, pending = await asyncio.wait(list(self._inflight.values()), timeout=self._grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)


def _duration(seconds: float) -> str:
    return f"{seconds / 3600:g} h" if seconds >= 3600 else f"{seconds:g} s"
