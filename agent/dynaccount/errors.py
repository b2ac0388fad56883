"""One exception family for everything the Dynaccount client can raise."""

from __future__ import annotations


class DynaccountError(Exception):
    """Base class. ``maybe_committed`` is True when a write may have been applied anyway
    (connection lost or 5xx after the request was sent): look the document up by reference
    before creating it again."""

    def __init__(self, message: str, *, status: int | None = None, maybe_committed: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.maybe_committed = maybe_committed

    def __str__(self) -> str:
        return self.message


class DynaccountConnectionError(DynaccountError):
    """No usable response: connect failure, timeout, dropped connection, non-JSON body."""


class DynaccountAuthError(DynaccountError):
    """401/403: wrong api_id/api_key or X-Hash. Permanent until the configuration changes."""


class DynaccountRejected(DynaccountError):
    """The request was understood and refused (validation, unknown reference, booked document).

    ``field_errors`` maps column → message; for ``insert_bulk`` ``line_errors`` maps the row
    index → {column: message} (A-12).
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        field_errors: dict[str, str] | None = None,
        line_errors: dict[int, dict[str, str]] | None = None,
    ) -> None:
        super().__init__(message, status=status)
        self.field_errors = field_errors or {}
        self.line_errors = line_errors or {}


class DynaccountNotFound(DynaccountRejected):
    """404: unknown table, action, row id or document number."""


class DynaccountUnavailable(DynaccountError):
    """5xx or 429: transient; ``retry_after`` (seconds) when the server said so."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        maybe_committed: bool = False,
    ) -> None:
        super().__init__(message, status=status, maybe_committed=maybe_committed)
        self.retry_after = retry_after


class DynaccountBadResponse(DynaccountConnectionError):
    """A response arrived but is not the JSON envelope (or PDF) we expected."""
