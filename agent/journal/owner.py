"""Who runs the worker over a journal: the process holding ``<journal>.lock`` (``fcntl.flock``).

The daemon takes it when it starts and keeps it until it exits (the kernel drops it on any death,
SIGKILL included). A one-off command (``replay``, ``import``) that cannot take it knows a daemon
owns the journal and only hands its work over through the journal; one that can take it holds it
while it works, so a daemon started meanwhile does not run a second worker beside it. This replaces
asking ``/healthz`` for a second, which was wrong for ``host = "::"`` or a slow answer.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path


class JournalOwned(RuntimeError):
    """Another process runs the worker over this journal."""


def lock_path(journal_path: Path | str) -> Path | None:
    return None if str(journal_path) == ":memory:" else Path(f"{journal_path}.lock")


@contextlib.contextmanager
def ownership(journal_path: Path | str) -> Iterator[bool]:
    """Try to own the journal; yields whether this process got it (held until the block ends)."""
    path = lock_path(journal_path)
    if path is None:
        yield True
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())  # for a human asking who holds it
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextlib.contextmanager
def owned(journal_path: Path | str) -> Iterator[None]:
    """Own the journal or raise :class:`JournalOwned` (the daemon: one worker per journal)."""
    with ownership(journal_path) as got:
        if not got:
            raise JournalOwned(
                f"another process runs the worker over {journal_path} (a second agent, or a replay/import in"
                f" progress; see {lock_path(journal_path)})"
            )
        yield
