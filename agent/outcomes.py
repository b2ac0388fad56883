"""How a piece of work ended: the leaf the worker and the modules it runs all import downward.

``classify`` is the one place that maps an exception onto the retry policy's error kinds; the
client libraries' exception families are known here so no service has to carry its own mapping.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from agent.dynaccount.errors import (
    DynaccountAuthError,
    DynaccountConnectionError,
    DynaccountError,
    DynaccountUnavailable,
)
from agent.woo.errors import WooAuthError, WooConnectionError, WooUnavailable


class ErrorKind(enum.Enum):
    TRANSIENT = "transient"  # connection trouble, 5xx, 429, timeouts: try again later
    AUTH = "auth"  # credentials refused: pause all Dynaccount/WooCommerce work and show it
    PERMANENT = "permanent"  # the request itself is wrong: stop this item, keep the others going


@dataclass(frozen=True)
class Outcome:
    state: str  # done | skipped | held | waiting
    reason: str | None = None


class WorkError(Exception):
    """An error a processor raises when it knows what kind of failure it is."""

    def __init__(self, message: str, kind: ErrorKind, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.retry_after = retry_after


class Progressed(Exception):
    """A pass failed after getting further than the last one (``progress`` says how); the failure
    it wraps (``__cause__``) decides the error kind, but the count of failures without progress
    starts again."""

    def __init__(self, progress: str) -> None:
        super().__init__(progress)
        self.progress = progress


def cause(exc: BaseException) -> BaseException:
    """The failure itself, with a :class:`Progressed` wrapper taken off."""
    return exc.__cause__ if isinstance(exc, Progressed) and exc.__cause__ is not None else exc


def classify(exc: BaseException) -> tuple[ErrorKind, float | None]:
    """The error kind of ``exc`` and how long the other side asked us to wait, if it said."""
    exc = cause(exc)
    if isinstance(exc, WorkError):
        return exc.kind, exc.retry_after
    if isinstance(exc, DynaccountAuthError | WooAuthError):
        return ErrorKind.AUTH, None
    if isinstance(exc, DynaccountUnavailable | WooUnavailable):
        return ErrorKind.TRANSIENT, exc.retry_after
    if isinstance(exc, DynaccountConnectionError | WooConnectionError | TimeoutError | OSError):
        return ErrorKind.TRANSIENT, None  # OSError covers ConnectionError and a socket that went away
    if isinstance(exc, DynaccountError) and exc.maybe_committed:
        return ErrorKind.TRANSIENT, None  # the next attempt looks the document up by its reference
    return ErrorKind.PERMANENT, None
