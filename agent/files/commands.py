"""``dynaccount-agent files import PATH [--mapping NAME] [--dry-run]``: import, then book (or queue)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from agent.files.importer import FileImporter
from agent.files.read import Refused
from agent.journal import Journal

RunOnce = Callable[[], Awaitable[int]]


async def import_path(importer: FileImporter, journal: Journal, run_once: RunOnce, path: Path,
                      mapping: str | None, *, dry_run: bool, daemon_running: bool,
                      progress: Callable[[str], None] = print) -> tuple[int, str]:  # fmt: skip
    """(exit code, summary); progress lines are printed as orders are booked."""
    try:
        size = (await asyncio.to_thread(path.stat)).st_size
        if size > importer.config.max_bytes:  # refused before it is read into memory
            raise Refused(f"{path.name}: {size} bytes is larger than files.max_bytes ({importer.config.max_bytes})")
        data = await asyncio.to_thread(path.read_bytes)
        report = await importer.run(data, path.name, mapping, dry_run=dry_run)
    except (OSError, Refused) as exc:
        return 1, f"refused: {exc}"
    for line in report.lines()[:-1]:
        progress(line)
    if dry_run or not report.keys:
        return (1 if report.errors else 0), report.summary()
    if daemon_running:
        return (1 if report.errors else 0), f"{report.summary()}; {len(report.keys)} order(s) queued for the agent"
    states = await _book(journal, run_once, report.keys, progress)
    booked = ", ".join(f"{states.count(s)} {s}" for s in sorted(set(states)))
    return (1 if report.errors or "failed" in states else 0), f"{report.summary()}; booked: {booked}"


async def _book(journal: Journal, run_once: RunOnce, keys: list[str], progress: Callable[[str], None]) -> list[str]:
    """Process the file's work items in this process, one line of progress per order."""
    await journal.reset_running()
    states = []
    for n, key in enumerate(keys, start=1):
        await journal.requeue(key)
        await run_once()
        item = await journal.get_work(key)
        state = item.state if item else "missing"
        states.append(state)
        progress(f"[{n}/{len(keys)}] {key}: {state} {item.reason or item.error or '' if item else ''}".rstrip())
    return states
