"""Historic import: orders of a period become work, processed here with progress, resumable.

Progress is shown as a ``tqdm`` bar on a terminal and as plain lines otherwise (journald keeps one line
per step, never a redrawn bar). The import's own state lives in the journal (``kv: import``), so the
status page shows a running import's progress from either process, and an interrupted import is
resumed by running the same command again from the order it stopped at (applying a plan is idempotent,
so even the order that was interrupted books nothing twice).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, TextIO

from agent.journal import Journal

STATE_KEY = "import"
UNCHANGED = "unchanged"  # already acted on in exactly the state the list shows: nothing to do, nothing called
PLAIN_EVERY = 10.0  # seconds between plain progress lines (and one at every tenth of the way)

ProcessMany = Callable[[list[str]], Awaitable[list[str]]]  # work keys -> the state each ended in


@dataclass
class ImportState:
    since: str
    until: str | None
    total: int
    position: int = 0
    counts: dict[str, int] = field(default_factory=dict)  # state (or UNCHANGED) -> orders
    status: str = "running"  # running | interrupted | finished | queued
    started_at: float = 0.0
    updated_at: float = 0.0

    def summary(self) -> str:
        counts = ", ".join(f"{n} {s}" for s, n in sorted(self.counts.items())) or "nothing to do"
        if self.status == "queued":
            queued = self.counts.get("queued", 0)
            left = f" ({self.total - queued} unchanged)" if queued != self.total else ""
            return f"{queued} of {self.total} orders queued; the running agent processes them{left}"
        if self.status == "interrupted":
            return (f"import interrupted after {self.position} of {self.total} orders ({counts}); "
                    "run the same command again to resume")  # fmt: skip
        return f"{self.total} orders imported: {counts}"


class Progress(Protocol):
    def advance(self, key: str, state: str) -> None: ...
    def close(self) -> None: ...


class PlainProgress:
    """One line now and then: at every tenth of the way and at least every ``PLAIN_EVERY`` seconds."""

    def __init__(self, total: int, start: int, stream: TextIO) -> None:
        self._total, self._done, self._stream = total, start, stream
        self._last = time.monotonic()
        self._step = max(1, total // 10)
        print(f"import: {total} orders" + (f", resuming at {start}" if start else ""), file=stream, flush=True)

    def advance(self, key: str, state: str) -> None:
        self._done += 1
        now = time.monotonic()
        if self._done % self._step == 0 or self._done == self._total or now - self._last >= PLAIN_EVERY:
            self._last = now
            print(f"import: {self._done}/{self._total} ({key} {state})", file=self._stream, flush=True)

    def close(self) -> None:
        return None


class BarProgress:
    def __init__(self, total: int, start: int, stream: TextIO) -> None:
        from tqdm import tqdm

        self._bar = tqdm(total=total, initial=start, unit="order", desc="import", file=stream)

    def advance(self, key: str, state: str) -> None:
        self._bar.set_postfix_str(f"{key} {state}", refresh=False)
        self._bar.update(1)

    def close(self) -> None:
        self._bar.close()


def terminal_progress(total: int, start: int, stream: TextIO | None = None) -> Progress:
    out = stream or sys.stderr
    return BarProgress(total, start, out) if out.isatty() else PlainProgress(total, start, out)


class Importer:
    def __init__(self, journal: Journal) -> None:
        self._journal = journal

    async def state(self) -> ImportState | None:
        raw = await self._journal.get_value(STATE_KEY)
        return ImportState(**json.loads(raw)) if raw else None

    async def _save(self, state: ImportState) -> None:
        state.updated_at = self._journal.db.clock.now()
        await self._journal.set_value(STATE_KEY, json.dumps(asdict(state)))

    async def _resumed(self, since: str, until: str | None, total: int) -> ImportState:
        """The same period interrupted before carries on from where it stopped; anything else starts anew."""
        before = await self.state()
        same = before is not None and (before.since, before.until, before.total) == (since, until, total)
        if before is not None and same and before.status == "interrupted":
            before.status = "running"
            return before
        return ImportState(since, until, total, started_at=self._journal.db.clock.now())

    async def queue(self, since: str, until: str | None, listed: Mapping[int, str]) -> int:
        """The running agent does the work: only hint it with each order's fingerprint as the list showed
        it (the one re-open rule: an order acted on in this state, done or failed or held, stays as it is),
        and say so; returns how many were left as they are."""
        opened = [await self._journal.hint_work(f"order:{order_id}", fingerprint=fingerprint)
                  for order_id, fingerprint in listed.items()]  # fmt: skip
        counts = {"queued": sum(opened), UNCHANGED: len(listed) - sum(opened)}
        state = ImportState(since, until, len(listed), len(listed), {k: v for k, v in counts.items() if v}, "queued",
                            self._journal.db.clock.now())  # fmt: skip
        await self._save(state)
        return counts[UNCHANGED]

    async def run(self, since: str, until: str | None, ids: Sequence[int], process: ProcessMany,
                  progress: Callable[[int, int], Progress] = terminal_progress, *,
                  batch: int = 1) -> ImportState:  # fmt: skip
        """Hand ``batch`` orders at a time to ``process`` (the worker's concurrency: with Dynaccount's calls
        serialised, one order's WooCommerce read and journal writes overlap another's Dynaccount calls);
        the position is saved after each batch, so an interruption resumes at the first unfinished one."""
        state = await self._resumed(since, until, len(ids))
        await self._save(state)
        shown = progress(state.total, state.position)
        try:
            while state.position < state.total:
                keys = [f"order:{order_id}" for order_id in ids[state.position:state.position + max(1, batch)]]
                ended = await process(keys)
                state.counts = dict(Counter(state.counts) + Counter(ended))
                state.position += len(keys)
                await self._save(state)
                for key, end in zip(keys, ended, strict=True):
                    shown.advance(key, end)
            state.status = "finished"
        except (asyncio.CancelledError, KeyboardInterrupt):
            state.status = "interrupted"
            raise
        finally:
            shown.close()
            await asyncio.shield(self._save(state))
        return state


def progress_json(state: ImportState | None) -> dict[str, Any] | None:
    if state is None:
        return None
    percent = round(100 * state.position / state.total) if state.total else 100
    return {**asdict(state), "percent": percent, "summary": state.summary()}
