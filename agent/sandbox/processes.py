"""The sandboxes in child processes, started through their own CLI (``python -m agent sandbox …``, as a shop
owner or ``make``-style script would), for a bench whose process must hold the agent alone: on a small
machine the sandboxes' own CPU would otherwise be counted as the agent's and slow it down.

:func:`dynaccount_process` and :func:`woocommerce_process` start one sandbox each on a free loopback port and
return once it answers its control API; :func:`child_process` starts any command that serves the given
URLs (several sandboxes in one child). Each child's stdout and stderr go to a log file; its CPU time is
read from ``/proc`` (Linux), so a bench can print what the sandboxes cost beside what the agent cost.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from agent.sandbox.dynaccount.store import Store
from agent.sandbox.ports import free_port

READY_SECONDS = 30.0  # a cold interpreter importing aiohttp on a loaded 2-core machine


@dataclass
class ChildProcess:
    process: asyncio.subprocess.Process
    urls: list[str]  # the base URLs it serves, as given
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def cpu_seconds(self) -> float:
        """User + system CPU the child has used so far (0.0 where there is no /proc)."""
        try:
            return cpu_seconds(self.pid)
        except OSError:
            return 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a live process, all its threads (``/proc/<pid>/stat`` fields 14 and 15)."""
    stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    fields = stat.rpartition(")")[2].split()  # the command name may hold spaces; it ends at the last ")"
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _ready(child: ChildProcess, probes: Sequence[str], limit: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    async with aiohttp.ClientSession() as session:
        for probe in probes:
            while True:
                if child.process.returncode is not None:
                    raise RuntimeError(f"{probe}: the child exited {child.process.returncode}; see {child.log}")
                with contextlib.suppress(aiohttp.ClientError):
                    async with session.get(probe) as resp:
                        if resp.status == 200:
                            break
                if loop.time() > deadline:
                    raise TimeoutError(f"{probe} did not answer within {limit:.0f} s; see {child.log}")
                await asyncio.sleep(0.05)  # polling a child's port: there is nothing to wait on but the socket


@contextlib.asynccontextmanager
async def child_process(argv: Sequence[str], urls: Sequence[str], probes: Sequence[str], log: Path, *,
                        limit: float = READY_SECONDS) -> AsyncIterator[ChildProcess]:  # fmt: skip
    """Run ``argv`` until the block ends (SIGTERM, then SIGKILL after 5 s); ready once every probe URL
    answers 200."""
    with log.open("ab") as out:
        process = await asyncio.create_subprocess_exec(*argv, stdout=out, stderr=out, stdin=asyncio.subprocess.DEVNULL)
    child = ChildProcess(process, list(urls), log)
    try:
        await _ready(child, probes, limit)
        yield child
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 5.0)
            except TimeoutError:
                process.kill()
                await process.wait()


def _agent(*args: str) -> list[str]:
    return [sys.executable, "-m", "agent", "sandbox", *args]


def dynaccount_process(log: Path, *, latency_ms: int = 0) -> AbstractAsyncContextManager[ChildProcess]:
    """``dynaccount-agent sandbox dynaccount`` with its default credentials, ``latency_ms`` on every API call."""
    url = f"http://127.0.0.1:{free_port()}"
    argv = _agent("dynaccount", "--port", url.rpartition(":")[2], "--latency-ms", str(latency_ms))
    return child_process(argv, [url], [f"{url}/_sandbox/faults"], log)


def woocommerce_process(log: Path, consumer_key: str, consumer_secret: str, *,
                        delivery_delay: float = 0.0) -> AbstractAsyncContextManager[ChildProcess]:  # fmt: skip
    """``dynaccount-agent sandbox woocommerce``: webhooks ``delivery_delay`` seconds after the change."""
    url = f"http://127.0.0.1:{free_port()}"
    argv = _agent("woocommerce", "--port", url.rpartition(":")[2], "--consumer-key", consumer_key,
                  "--consumer-secret", consumer_secret, "--delivery-delay", str(delivery_delay))  # fmt: skip
    return child_process(argv, [url], [f"{url}/__sandbox/"], log)


async def dynaccount_store(session: aiohttp.ClientSession, base_url: str) -> Store:
    """A copy of a Dynaccount sandbox's store read over HTTP (``/_sandbox/state``): what the books checks read
    (``agent.sandbox.demo.verify``, ``books_check``) when the sandbox runs in another process."""
    async with session.get(f"{base_url}/_sandbox/state") as resp:
        resp.raise_for_status()
        text = await resp.text()
    store = Store()
    store.loads(text)
    return store


async def dynaccount_calls(session: aiohttp.ClientSession, base_url: str) -> Counter[str]:
    """Every API request a Dynaccount sandbox has received, by ``method/name`` (``/_sandbox/calls``)."""
    async with session.get(f"{base_url}/_sandbox/calls") as resp:
        resp.raise_for_status()
        body = await resp.json()
    return Counter({str(k): int(v) for k, v in body["calls"].items()})
