from __future__ import annotations

import pytest

from agent.retry import Decision, ErrorKind, backoff, decide

T, A, P = ErrorKind.TRANSIENT, ErrorKind.AUTH, ErrorKind.PERMANENT


@pytest.mark.parametrize(
    ("attempt", "rand", "expected"),
    [
        (1, 0.0, 2.5), (1, 0.999999, 4.999995), (2, 0.0, 5.0), (3, 0.5, 15.0),
        (4, 0.0, 20.0), (10, 0.0, 50.0), (10, 0.5, 75.0), (60, 0.0, 50.0),
    ],
)
def test_backoff_table(attempt: int, rand: float, expected: float) -> None:
    assert backoff(attempt, base=5, cap=100, rand=rand) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("kind", "attempt", "retry_after", "expected"),
    [
        (T, 1, None, Decision("pending", 2.5)),
        (T, 3, None, Decision("pending", 10.0)),
        (T, 11, None, Decision("pending", 50.0)),
        (T, 12, None, Decision("failed", None)),  # max_attempts reached
        (T, 1, 30.0, Decision("pending", 30.0)),  # Retry-After wins when longer
        (T, 1, 1e9, Decision("pending", 100.0)),  # …but never beyond the cap
        (P, 1, None, Decision("failed", None)),
        (A, 1, None, Decision("pending", 2.5)),  # auth: keep retrying, never give up silently
        (A, 40, None, Decision("pending", 50.0)),
    ],
)
def test_decide_table(kind: ErrorKind, attempt: int, retry_after: float | None, expected: Decision) -> None:
    assert decide(kind, attempt, max_attempts=12, base=5, cap=100, rand=0.0, retry_after=retry_after) == expected


@pytest.mark.parametrize(
    ("kind", "attempt", "retry_after", "expected"),
    [
        (T, 11, None, Decision("pending", 50.0)),  # fast retries first
        (T, 12, None, Decision("pending", 3600.0, slow=True)),  # then the slow schedule, never failed
        (T, 500, None, Decision("pending", 3600.0, slow=True)),
        (T, 12, 7200.0, Decision("pending", 7200.0, slow=True)),  # a longer Retry-After still wins
        (P, 1, None, Decision("failed", None)),  # a refused request still stops the item
    ],
)
def test_transient_failures_slow_down_but_never_fail(
    kind: ErrorKind, attempt: int, retry_after: float | None, expected: Decision
) -> None:
    """Regression (issue 10 item 4): 12 transient failures ended an item as failed for good."""
    got = decide(kind, attempt, max_attempts=12, base=5, cap=100, rand=0.0, retry_after=retry_after, slow=3600.0)
    assert got == expected
