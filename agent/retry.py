"""Retry policy: pure functions, tested by a table."""

from __future__ import annotations

from dataclasses import dataclass

from agent.outcomes import ErrorKind


@dataclass(frozen=True)
class Decision:
    state: str  # pending (retry) | failed
    delay: float | None  # seconds until the retry; None when failed
    slow: bool = False  # the fast retries are used up: retrying on the slow schedule


def backoff(attempt: int, *, base: float, cap: float, rand: float) -> float:
    """Capped exponential backoff with equal jitter.

    ``attempt`` counts from 1; ``rand`` in [0, 1) comes from the caller so tests are exact. Half the
    delay is fixed and half is random, so retries spread out but never come back immediately.
    """
    ceiling = min(cap, base * float(2 ** max(0, attempt - 1)))
    return ceiling / 2 + rand * ceiling / 2


def decide(
    kind: ErrorKind,
    attempt: int,
    *,
    max_attempts: int,
    base: float,
    cap: float,
    rand: float,
    retry_after: float | None = None,
    slow: float | None = None,
) -> Decision:
    """What to do with an item whose ``attempt``-th try (failures without progress) failed with ``kind``.

    A transient failure never ends an item: after ``max_attempts`` fast retries it is retried every
    ``slow`` seconds (a passing outage must not leave work undone until someone presses Retry).
    Without ``slow`` the old rule holds: failed after ``max_attempts``."""
    if kind is ErrorKind.PERMANENT:
        return Decision("failed", None)
    if kind is ErrorKind.TRANSIENT and attempt >= max_attempts:
        if slow is None:
            return Decision("failed", None)
        return Decision("pending", max(slow, retry_after or 0.0), slow=True)
    delay = backoff(attempt, base=base, cap=cap, rand=rand)
    if retry_after is not None:
        delay = max(delay, min(retry_after, cap))
    return Decision("pending", delay)


__all__ = ["Decision", "ErrorKind", "backoff", "decide"]
