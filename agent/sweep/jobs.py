"""What every sweep job shares: its own last run and last error."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass
class JobStatus:
    last_run: float | None = None
    last_error: str | None = None
    errors: int = 0  # failed runs since start (metrics)
    last_error_at: float | None = None


class Job(Protocol):
    name: str
    system: str  # the outside system it calls: woocommerce | dynaccount | "" (none)
    status: JobStatus

    async def run(self) -> int:
        """One pass; returns how many work items it re-opened."""
        ...
