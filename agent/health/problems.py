"""What an alert source reports: a problem present now (a leaf, so sources depend on nothing else)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    key: str  # stable across checks while it lasts, e.g. dynaccount-down, items-failed
    title: str
    detail: str  # the current state in words; a change of it goes into the next digest
    since: float  # when it began (clock seconds)
    grace: float = 0.0  # how long it must last before the owner is told


ProblemSource = Callable[[], Awaitable[list[Problem]]]
