"""A local Dynaccount stand-in (spec §7) so the demo and the tests use the real client over HTTP.

Serves ``/v7/{api_id}/{api_key}/{method}/{table|action}/[{id}/]`` for any HTTP method, checks the
X-Hash over Host header + raw path/query + raw body + secret (§1.4, A-2), and answers with the
``{"result": …}`` / ``{"error": …}`` envelopes. ``/_sandbox/…`` is the inspection/control API
(see :mod:`.control`), which the client never uses.

CLI: ``dynaccount-agent sandbox dynaccount …`` calls :func:`main` with the remaining arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import socket
import sys
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from agent.dynaccount import signing

from .actions import ACTIONS, document
from .faults import WRITE_METHODS, FaultConfig, FaultInjector
from .seed import seed
from .store import ApiError, Row, Store

log = logging.getLogger(__name__)

MAX_BODY = 20 * 1024 * 1024
DEFAULT_API_ID = "12345"
DEFAULT_API_KEY = "0123456789abcdef0123456789abcdef01234567"
DEFAULT_API_SECRET = "fedcba9876543210fedcba9876543210fedcba98"


@dataclass
class SandboxConfig:
    api_id: str = DEFAULT_API_ID
    api_key: str = DEFAULT_API_KEY
    api_secret: str = DEFAULT_API_SECRET
    faults: FaultConfig = field(default_factory=FaultConfig)
    sqlite_path: Path | None = None
    accept_production_host: bool = True  # also accept hashes over api.dynaccount.com (§7.2)
    seed: bool = True
    invoice_start: int = 1001
    clock: Callable[[], int] | None = None


STORE = web.AppKey("dynaccount_store", Store)
FAULTS = web.AppKey("dynaccount_faults", FaultInjector)
CONFIG = web.AppKey("dynaccount_config", SandboxConfig)
STATS = web.AppKey("dynaccount_stats", dict[str, int])
PEERS = web.AppKey("dynaccount_peers", set[str])
CALLS = web.AppKey("dynaccount_calls", Counter[str])


def create_sandbox_app(config: SandboxConfig | None = None) -> web.Application:
    from .control import add_control_routes

    config = config or SandboxConfig()
    store = Store(clock=config.clock, invoice_start=config.invoice_start)
    loaded = store.load(config.sqlite_path) if config.sqlite_path else False
    if config.seed and not loaded:
        seed(store)
        store.persist()
    app = web.Application(client_max_size=MAX_BODY)
    app[STORE], app[CONFIG] = store, config
    app[FAULTS] = FaultInjector(config.faults)
    app[STATS] = {"requests": 0, "auth_failures": 0}
    app[PEERS] = set()
    app[CALLS] = Counter()
    add_control_routes(app)
    app.router.add_route("*", "/{tail:.*}", handle_api)
    return app


def _json(status: int, payload: Any, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, text=json.dumps(payload), content_type="application/json", headers=headers)


def _error(status: int, error: dict[str, Any], headers: dict[str, str] | None = None) -> web.Response:
    return _json(status, {"error": error}, headers)


async def _drop(request: web.Request) -> web.StreamResponse:
    """Close the connection without an answer (the client sees a disconnect)."""
    if request.transport is not None:
        request.transport.close()
    raise asyncio.CancelledError  # aiohttp drops the request quietly


async def handle_api(request: web.Request) -> web.StreamResponse:
    app = request.app
    app[STATS]["requests"] += 1
    app[PEERS].add(str(request.transport.get_extra_info("peername") if request.transport else None))
    parts = request.rel_url.raw_path.strip("/").split("/")
    if len(parts) not in (5, 6) or parts[0] != signing.API_VERSION:
        return _error(404, {"url": "expected /v7/{api_id}/{api_key}/{method}/{name}/[{id}/]"})
    _, api_id, api_key, method, name, *rest = parts
    app[CALLS][f"{method}/{name}"] += 1  # the request log by method: what tests pin calls per order with
    faults = app[FAULTS]
    delay = faults.delay(method, name)
    if delay:
        await asyncio.sleep(delay)
    injected = faults.before(method, name)
    if injected is not None:
        return await _injected(request, injected)
    body = await request.read()
    denied = _authenticate(request, api_id, api_key, body)
    if denied is not None:
        app[STATS]["auth_failures"] += 1
        return denied
    try:
        response = _dispatch(app[STORE], method, name, rest[0] if rest else None, request, body)
    except ApiError as exc:
        return _error(exc.status, exc.error)
    if method in WRITE_METHODS:
        key = f"{method} {name}"  # successful writes per table: what tests count ("no write call")
        app[STATS][key] = app[STATS].get(key, 0) + 1
        app[STORE].persist()
        if faults.lose_response(method, name):
            return await _drop(request)
    return response


async def _injected(request: web.Request, kind: str) -> web.StreamResponse:
    if kind == "drop":
        return await _drop(request)
    if kind == "5xx":
        return _error(503, {"server": "temporarily unavailable (injected)"})
    if kind == "429":
        retry_after = request.app[FAULTS].config.retry_after
        return _error(429, {"rate": "too many requests (injected)"}, {"Retry-After": f"{retry_after:g}"})
    if kind == "400":
        return _error(400, {"request": "refused (injected)"})
    if kind == "bad_json":
        return web.Response(status=200, text="<html><body>Bad gateway</body></html>", content_type="text/html")
    return _json(200, {})  # missing_result


def _authenticate(request: web.Request, api_id: str, api_key: str, body: bytes) -> web.Response | None:
    """§1.4/§7.2: API_ID/API_KEY must match; X-Hash over Host + raw target + raw body + secret."""
    config = request.app[CONFIG]
    if api_id != config.api_id or api_key != config.api_key:
        return _error(401, {"api_key": "unknown API_ID or API_KEY"})
    received = request.headers.get("X-Hash")
    hosts = [request.headers.get("Host", "")]
    if config.accept_production_host:
        hosts.append(signing.PRODUCTION_HOST)
    if any(signing.verify(h + request.raw_path, body, config.api_secret, received) for h in hosts):
        return None
    return _error(403, {"X-Hash": "invalid hash"})


def _dispatch(
    store: Store, method: str, name: str, raw_id: str | None, request: web.Request, body: bytes
) -> web.Response:
    row_id = _row_id(raw_id) if method != "document" else None
    if method == "get":
        return _result(store.get(name, row_id, parse_qsl(request.rel_url.raw_query_string, keep_blank_values=True)))
    if method == "document":
        if raw_id is None:
            raise ApiError(404, {"id": "a document number is required"})
        return web.Response(body=document(store, name, raw_id), content_type="application/pdf")
    form = _parse_form(request, body)
    if method == "put":
        return _result([store.put(name, _single(form), row_id)])
    if method == "insert_bulk":
        return _result(store.insert_bulk(name, _bulk(form)))
    if method == "delete":
        if row_id is None:
            raise ApiError(404, {"id": "an id is required"})
        store.delete(name, row_id)
        return _result([])
    if method == "action":
        if name not in ACTIONS:
            raise ApiError(404, {"action": f"unknown action {name!r}"})
        return _result(ACTIONS[name](store, _single(form)))
    raise ApiError(404, {"method": f"unknown method {method!r}"})


def _result(rows: list[Row]) -> web.Response:
    return _json(200, {"result": rows})


def _row_id(raw: str | None) -> int | None:
    if raw is None:
        return None
    if not raw.isdigit():
        raise ApiError(404, {"id": f"bad id {raw!r}"})
    return int(raw)


def _parse_form(request: web.Request, body: bytes) -> list[tuple[str, str]]:
    if body and request.content_type not in ("application/x-www-form-urlencoded", ""):
        raise ApiError(400, {"content_type": "the sandbox accepts application/x-www-form-urlencoded only"})
    try:
        return parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ApiError(400, {"body": f"malformed form body: {exc}"}) from exc


def _single(form: list[tuple[str, str]]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for key, value in form:
        if key in fields:
            raise ApiError(400, {key: "given more than once"})
        fields[key] = value
    return fields


def _bulk(form: list[tuple[str, str]]) -> list[dict[str, str]]:
    """``col[i]=v`` → rows by index (spec §2.3)."""
    rows: dict[int, dict[str, str]] = {}
    for key, value in form:
        column, bracket, rest = key.partition("[")
        index = rest.rstrip("]")
        if not bracket or not index.isdigit():
            raise ApiError(400, {key: "insert_bulk expects column[index]=value"})
        rows.setdefault(int(index), {})[column] = value
    if sorted(rows) != list(range(len(rows))):
        raise ApiError(400, {"body": "row indexes must be 0..n-1"})
    return [rows[i] for i in range(len(rows))]


# -- running it ------------------------------------------------------------------------------------


@dataclass
class SandboxHandle:
    base_url: str
    app: web.Application
    config: SandboxConfig

    @property
    def store(self) -> Store:
        return self.app[STORE]

    @property
    def faults(self) -> FaultInjector:
        return self.app[FAULTS]

    @property
    def stats(self) -> dict[str, int]:
        return self.app[STATS]

    @property
    def calls(self) -> Counter[str]:
        """Every API request received, by ``method/name`` (answered or not)."""
        return self.app[CALLS]

    @property
    def peers(self) -> set[str]:
        """Distinct client (host, port) pairs seen: 1 means one keep-alive connection."""
        return self.app[PEERS]


@contextlib.asynccontextmanager
async def running_sandbox(
    config: SandboxConfig | None = None, *, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[SandboxHandle]:
    """Start the sandbox on ``host:port`` (0 = ephemeral) and yield its URL, store and faults."""
    config = config or SandboxConfig()
    app = create_sandbox_app(config)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    site = web.SockSite(runner, sock)
    await site.start()
    try:
        yield SandboxHandle(f"http://{host}:{sock.getsockname()[1]}", app, config)
    finally:
        await runner.cleanup()


async def serve(config: SandboxConfig, *, host: str = "127.0.0.1", port: int = 8090) -> None:
    """Run until SIGINT/SIGTERM; prints ``listening on <url>`` (with the real port) first."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    async with running_sandbox(config, host=host, port=port) as handle:
        print(f"Dynaccount sandbox listening on {handle.base_url}", flush=True)
        await stop.wait()


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    parser = parser or argparse.ArgumentParser(prog="dynaccount-sandbox", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--api-id", default=DEFAULT_API_ID)
    parser.add_argument("--api-key", default=DEFAULT_API_KEY)
    parser.add_argument("--api-secret", default=DEFAULT_API_SECRET)
    parser.add_argument("--sqlite", type=Path, default=None, help="persist the accounts to this SQLite file")
    parser.add_argument("--fault-5xx", type=float, default=0.0)
    parser.add_argument("--fault-429", type=float, default=0.0)
    parser.add_argument("--retry-after", type=float, default=1.0)
    parser.add_argument("--fault-drop", type=float, default=0.0)
    parser.add_argument("--fault-commit-then-fail", type=float, default=0.0)
    parser.add_argument("--fault-slow", type=float, default=0.0)
    parser.add_argument("--slow-ms", type=int, default=2000)
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--fault-seed", type=int, default=None)
    return parser


def config_from_args(args: argparse.Namespace) -> SandboxConfig:
    faults = FaultConfig(
        error_5xx=args.fault_5xx, rate_429=args.fault_429, retry_after=args.retry_after, drop=args.fault_drop,
        commit_then_fail=args.fault_commit_then_fail, slow=args.fault_slow, slow_ms=args.slow_ms,
        latency_ms=args.latency_ms, seed=args.fault_seed,
    )  # fmt: skip
    return SandboxConfig(
        api_id=args.api_id, api_key=args.api_key, api_secret=args.api_secret, faults=faults,
        sqlite_path=args.sqlite,
    )  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point for ``dynaccount-agent sandbox dynaccount [options]``."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(config_from_args(args), host=args.host, port=args.port))
    return 0


if __name__ == "__main__":
    # Re-import under the package name so the AppKeys shared with sandbox_control are the same objects.
    from agent.sandbox.dynaccount.server import main as package_main

    sys.exit(package_main())
