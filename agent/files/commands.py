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
    """Process the file's work items (the import left them due) in this process, one line per order as
    each wave of the worker ends; an item left to retry later is reported as pending."""
    await journal.reset_running()
    open_keys, states = list(keys), []
    while open_keys:
        ran = await run_once()
        for key in list(open_keys):
            item = await journal.get_work(key)
            if item is not None and item.state in ("pending", "running") and ran:
                continue
            open_keys.remove(key)
            state = item.state if item else "missing"
            states.append(state)
            why = (item.reason or item.error or "") if item else ""
            progress(f"[{len(states)}/{len(keys)}] {key}: {state} {why}".rstrip())
    return states
