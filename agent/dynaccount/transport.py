"""Low-level Dynaccount v7 client: one ``_request()``, exact bytes, one exception family.

The caller injects a long-lived ``aiohttp.ClientSession`` (one keep-alive connection per account,
spec §1.3); calls are serialised by a lock (A-14). Nothing is retried here: a write whose outcome
is unknown raises with ``maybe_committed=True`` and the caller looks the document up by reference.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import aiohttp
import yarl

from . import signing
from .errors import (
    DynaccountAuthError,
    DynaccountBadResponse,
    DynaccountConnectionError,
    DynaccountError,
    DynaccountNotFound,
    DynaccountRejected,
    DynaccountUnavailable,
)
from .signing import FormValue

log = logging.getLogger(__name__)

JsonRow = dict[str, Any]
# Told of every call once it ended: ``(method/table, outcome, seconds)``; outcome is ``ok`` or the error's
# kind (``unavailable``, ``rejected``, ``notfound``, ``auth``, ``connection``, ``badresponse``, ``cancelled``).
CallHook = Callable[[str, str, float], None]
_DEFAULT_PORTS = {"http": 80, "https": 443}


class DynaccountApi:
    """get / get_all / put / insert_bulk / delete / action / document over one session."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        base_url: str,
        api_id: str,
        api_key: str,
        api_secret: str,
        timeout: float = 30.0,
        hash_host: str | None = None,
        max_parallel: int = 1,
        on_call: CallHook | None = None,
    ) -> None:
        base = yarl.URL(base_url)
        self._session = session
        self._origin = f"{base.scheme}://{self._authority(base)}"
        self._prefix = base.raw_path.rstrip("/")
        self._hash_host = hash_host or self._authority(base)
        self._api_id = str(api_id)
        self._api_key = api_key
        self._secret = api_secret
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        # Dynaccount publishes no rate limit and recommends one keep-alive connection, so calls
        # are serialised by default; max_parallel > 1 allows that many calls (and connections) at once.
        self._calls_in_flight = asyncio.Semaphore(max_parallel)
        self._down = False
        self._on_call = on_call

    @property
    def reachable(self) -> bool:
        """False from a call that found Dynaccount unavailable until one that succeeded."""
        return not self._down

    @staticmethod
    def _authority(url: yarl.URL) -> str:
        """Host as aiohttp sends it in ``Host``: the port only when it is not the default."""
        host = url.raw_host or ""
        if url.port is None or url.port == _DEFAULT_PORTS.get(url.scheme):
            return host
        return f"{host}:{url.port}"

    # -- public low-level methods -------------------------------------------------------------

    async def get(
        self,
        table: str,
        row_id: int | None = None,
        *,
        select: Sequence[str] | None = None,
        filters: Mapping[str, FormValue] | None = None,
        order: Sequence[str] | str | None = None,
        limit: tuple[int, int] | None = None,
    ) -> list[JsonRow]:
        query = signing.build_query(select=select, filters=filters, order=order, limit=limit)
        return _rows(await self._request("get", table, row_id, query=query, write=False))

    async def get_all(
        self,
        table: str,
        *,
        select: Sequence[str] | None = None,
        filters: Mapping[str, FormValue] | None = None,
        order: Sequence[str] | str = "id",
        page_size: int = 500,
    ) -> list[JsonRow]:
        """Page with ``limit=offset,count`` until a short page (A-7); ``order`` keeps pages stable."""
        rows: list[JsonRow] = []
        offset = 0
        while True:
            page = await self.get(table, select=select, filters=filters, order=order, limit=(offset, page_size))
            rows.extend(page)
            if len(page) < page_size:
                return rows
            offset += page_size

    async def put(self, table: str, fields: Mapping[str, FormValue], row_id: int | None = None) -> JsonRow:
        """Create (no id) or update (id) one row; returns the row (A-8)."""
        body = signing.build_body(fields)
        rows = _rows(await self._request("put", table, row_id, body=body, write=True))
        if not rows:
            raise DynaccountBadResponse(f"put/{table}: response has no row")
        return rows[0]

    async def insert_bulk(self, table: str, rows: Sequence[Mapping[str, FormValue]]) -> list[JsonRow]:
        """Create many rows in one request; per-line errors in ``DynaccountRejected.line_errors``."""
        if not rows:
            return []
        body = signing.build_bulk_body(rows)
        return _rows(await self._request("insert_bulk", table, None, body=body, write=True))

    async def delete(self, table: str, row_id: int) -> None:
        await self._request("delete", table, row_id, write=True)

    async def action(self, name: str, params: Mapping[str, FormValue] | None = None) -> list[JsonRow]:
        body = signing.build_body(params or {})
        return _rows(await self._request("action", name, None, body=body, write=True))

    async def document(self, doc_type: str, number: int | str) -> bytes:
        """Fetch a file (e.g. an invoice PDF) by document type and human number (spec §2.7)."""
        data = await self._request("document", doc_type, number, write=False, raw=True)
        assert isinstance(data, bytes)
        return data

    # -- the one request path -----------------------------------------------------------------

    async def _request(self, method: str, name: str, row_id: int | str | None, **kwargs: Any) -> Any:
        """:meth:`_exchange`, timed and reported to ``on_call``."""
        started, outcome = time.perf_counter(), "cancelled"
        try:
            result = await self._exchange(method, name, row_id, **kwargs)
            outcome = "ok"
            return result
        except DynaccountError as exc:
            outcome = type(exc).__name__.removeprefix("Dynaccount").removesuffix("Error").lower() or "error"
            raise
        finally:
            if self._on_call is not None:
                try:
                    self._on_call(f"{method}/{name}", outcome, time.perf_counter() - started)
                except Exception:  # an observer must never break a call
                    log.exception("on_call hook failed")

    async def _exchange(
        self,
        method: str,
        name: str,
        row_id: int | str | None,
        *,
        query: str = "",
        body: bytes = b"",
        write: bool,
        raw: bool = False,
    ) -> Any:
        path = self._prefix + signing.build_path(self._api_id, self._api_key, method, name, row_id)
        target = signing.request_target(path, query)
        headers = {
            "X-Hash": signing.sign(self._hash_host + target, body, self._secret),
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        }
        url = yarl.URL(self._origin + target, encoded=True)
        what = f"{method}/{name}"
        async with self._calls_in_flight:
            try:
                # Writes always POST: aiohttp silently re-sends idempotent methods (GET) once when a
                # reused keep-alive connection turns out closed, and a write must never be re-sent.
                async with self._session.request(
                    "POST" if (body or write) else "GET", url, data=body or None, headers=headers, timeout=self._timeout
                ) as resp:
                    payload = await resp.read()
                    status, ctype = resp.status, resp.content_type
                    retry_after = resp.headers.get("Retry-After")
            except (aiohttp.ClientError, TimeoutError) as exc:
                err = DynaccountConnectionError(
                    self._redact(f"{what}: {type(exc).__name__}: {exc}".rstrip(": ")), maybe_committed=write
                )
                self._mark_down(err)
                raise err from exc
        try:
            result = _interpret(what, status, ctype, payload, retry_after, write=write, raw=raw)
        except (DynaccountUnavailable, DynaccountConnectionError) as exc:
            self._mark_down(exc)
            raise
        self._mark_up()
        return result

    def _redact(self, text: str) -> str:
        for secret in (self._api_key, self._secret):
            if secret:
                text = text.replace(secret, "***")
        return text

    def _mark_down(self, exc: DynaccountError) -> None:
        if not self._down:
            self._down = True
            log.warning("Dynaccount unavailable: %s", exc)

    def _mark_up(self) -> None:
        if self._down:
            self._down = False
            log.info("Dynaccount reachable again")


def _interpret(
    what: str, status: int, ctype: str, payload: bytes, retry_after: str | None, *, write: bool, raw: bool
) -> Any:
    if raw and status == 200 and ctype != "application/json":
        return payload
    try:
        data = json.loads(payload, parse_float=Decimal) if payload else {}
    except ValueError:
        data = None
    if status == 429 or status >= 500:
        detail = _error_text(data.get("error")) if isinstance(data, dict) else ""
        raise DynaccountUnavailable(
            f"{what}: HTTP {status} {detail}".strip(),
            status=status,
            retry_after=_parse_retry_after(retry_after),
            maybe_committed=write and status != 429,
        )
    if not isinstance(data, dict):
        raise DynaccountBadResponse(
            f"{what}: response is not a JSON object (HTTP {status}, {ctype or 'no content type'}, "
            f"{len(payload)} bytes)",
            status=status,
            maybe_committed=write,
        )
    if "error" in data or status >= 400:
        raise _error_from(what, status, data.get("error"))
    return data.get("result", [])


def _error_from(what: str, status: int, error: Any) -> DynaccountError:
    text = _error_text(error) or f"HTTP {status}"
    message = f"{what}: {text}"
    if status in (401, 403):
        return DynaccountAuthError(message, status=status)
    fields, lines = _split_errors(error)
    cls = DynaccountNotFound if status == 404 else DynaccountRejected
    return cls(message, status=status, field_errors=fields, line_errors=lines)


def _split_errors(error: Any) -> tuple[dict[str, str], dict[int, dict[str, str]]]:
    if not isinstance(error, dict):
        return ({"error": str(error)} if error else {}), {}
    if error and all(str(k).isdigit() and isinstance(v, dict) for k, v in error.items()):
        return {}, {int(k): {str(c): _error_text(m) for c, m in v.items()} for k, v in error.items()}
    return {str(k): _error_text(v) for k, v in error.items()}, {}


def _error_text(error: Any) -> str:
    """Flatten like PHP-lib ``flatten_errors``: ``field=message, …``; lines as ``Line k: …``."""
    if isinstance(error, dict):
        parts = []
        for key, value in error.items():
            if isinstance(value, dict):
                parts.append(f"Line {key}: {_error_text(value)}")
            else:
                parts.append(f"{key}={_error_text(value)}")
        return ", ".join(parts)
    if isinstance(error, list):
        return ", ".join(_error_text(e) for e in error)
    return "" if error is None else str(error)


def _parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _rows(result: Any) -> list[JsonRow]:
    """``result`` is a list of rows; tolerate a single object or anything else (gem behaviour)."""
    if isinstance(result, list):
        return [r for r in result if isinstance(r, dict)]
    if isinstance(result, dict):
        return [result]
    return []
