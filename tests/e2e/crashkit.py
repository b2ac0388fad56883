"""Helpers for the SIGKILL pipeline test: the agent as a real subprocess over the two sandboxes.

The sandboxes live in the test process for the whole test; only the agent dies. The agent's config
is the demo's (:func:`agent.sandbox.demo.stack_config`) with a fast sweep and fast retries, written as TOML
and read back with :func:`agent.config.load_config` so the subprocess runs exactly what was checked.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp

from agent.config import Config, load_config
from agent.sandbox.demo import CK, CS, WEBHOOK_SECRET, stack_config
from agent.sandbox.dynaccount.server import DEFAULT_API_ID, DEFAULT_API_KEY, DEFAULT_API_SECRET
from agent.sandbox.dynaccount.store import Store

ROOT = Path(__file__).resolve().parents[2]
WEBHOOK_PATH = "/webhooks/woocommerce"


# -- configuration ----------------------------------------------------------------------------------


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # JSON string escapes are valid TOML basic strings
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML for {value!r}")


def toml_dumps(raw: dict[str, dict[str, Any]]) -> str:
    """Tables of scalars and lists: all an agent config written by a test needs."""
    out = []
    for table, values in raw.items():
        out.append(f"[{table}]")
        out += [f"{key} = {_toml_value(value)}" for key, value in values.items()]
        out.append("")
    return "\n".join(out)


# What the crash test changes in the demo stack's settings (``agent.sandbox.demo.stack_config``).
OVERRIDES: dict[str, dict[str, Any]] = {
    # FULL: what the agent committed before it was killed is what it finds after the restart
    "journal": {"synchronous": "FULL"},
    "woocommerce": {"timeout_seconds": 10.0},
    "dynaccount": {"timeout_seconds": 10.0},
    "worker": {"backoff_base_seconds": 0.1, "backoff_cap_seconds": 1.0},
    # deliveries that hit a dead agent are lost for good (WooCommerce never retries): the sweep finds them
    "sweep": {"interval_seconds": 1.0, "overlap_seconds": 5.0},
}


def agent_config(directory: Path, *, port: int, woo_url: str, dyn_url: str) -> dict[str, dict[str, Any]]:
    """The demo stack's settings with :data:`OVERRIDES`, as the tables of a TOML file."""
    return {
        "server": {"host": "127.0.0.1", "port": port},
        "journal": {"path": str(directory / "agent.sqlite3"), "synchronous": "FULL"},
        "woocommerce": {
            "url": woo_url.rstrip("/"), "consumer_key": CK, "consumer_secret": CS, "webhook_secret": WEBHOOK_SECRET,
            "webhook_url": f"http://127.0.0.1:{port}{WEBHOOK_PATH}", "timeout_seconds": 10.0,
        },
        "dynaccount": {
            "api_id": int(DEFAULT_API_ID), "api_key": DEFAULT_API_KEY, "api_secret": DEFAULT_API_SECRET,
            "base_url": dyn_url.rstrip("/"), "timeout_seconds": 10.0,
        },
        "worker": {"concurrency": 4, "poll_seconds": 0.2, "backoff_base_seconds": 0.1, "backoff_cap_seconds": 1.0,
                   "max_attempts": 50},
        "sweep": {"interval_seconds": 1.0, "overlap_seconds": 5.0, "lookback_hours": 1.0},
        "stock": {"interval_seconds": 10.0, "after_booking_seconds": 0.5},
        "shop": {"name": "woo"},
    }  # fmt: skip


def write_config(directory: Path, *, port: int, woo_url: str, dyn_url: str) -> tuple[Path, Config]:
    """Write the agent's TOML; what it loads to is the demo stack's config with :data:`OVERRIDES`."""
    path = directory / "agent.toml"
    path.write_text(toml_dumps(agent_config(directory, port=port, woo_url=woo_url, dyn_url=dyn_url)), encoding="utf-8")
    config = load_config(path)
    expected = stack_config(directory, agent_port=port, woo_url=woo_url, dyn_url=dyn_url, overrides=OVERRIDES)
    assert config == expected, (config, expected)
    return path, config


# -- the agent process ------------------------------------------------------------------------------


@dataclass
class KillReport:
    """What the journal held at the moment of a SIGKILL (read after the process was gone)."""

    moment: str
    running: int
    open_intents: list[str]


@dataclass
class AgentProcess:
    config_path: Path
    config: Config
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0
    kills: list[KillReport] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.config.server.port}"

    @property
    def journal_path(self) -> Path:
        return self.config.journal.path

    def note(self, text: str) -> None:
        with self.log_path.open("a", encoding="utf-8") as log:
            log.write(f"==== test: {text} ====\n")

    def log_tail(self, lines: int = 40) -> str:
        """The end of the agent's log without the access log (the test polls /api/status a lot)."""
        text = self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""
        kept = [line for line in text.splitlines() if " aiohttp.access: " not in line]
        return "\n".join(kept[-lines:])

    async def start(self, session: aiohttp.ClientSession, timeout: float = 20.0) -> None:
        self.starts += 1
        self.note(f"start #{self.starts}")
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "agent", "run", "--config", str(self.config_path)],
                cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        await self.wait_healthy(session, timeout)

    async def wait_healthy(self, session: aiohttp.ClientSession, timeout: float) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = self.proc.poll()
            assert code is None, f"agent exited with {code} during start #{self.starts}\n{self.log_tail()}"
            try:
                async with session.get(f"{self.url}/healthz") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.02)
        raise AssertionError(f"agent did not become healthy (start #{self.starts})\n{self.log_tail()}")

    async def _wait_exit(self, timeout: float) -> int:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while (code := self.proc.poll()) is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"agent did not exit within {timeout} s\n{self.log_tail()}")
            await asyncio.sleep(0.01)
        return code

    async def kill(self, moment: str) -> KillReport:
        assert self.proc is not None and self.proc.poll() is None, f"agent already dead\n{self.log_tail()}"
        os.kill(self.proc.pid, signal.SIGKILL)
        code = await self._wait_exit(10.0)
        assert code == -signal.SIGKILL, code
        running, intents = journal_at_rest(self.journal_path)
        # an intent a successor recovered by looking the document up stays 'started': report new ones only
        seen = {i for k in self.kills for i in k.open_intents}
        report = KillReport(moment, running, [i for i in intents if i not in seen])
        self.kills.append(report)
        self.note(f"SIGKILL #{len(self.kills)} at {moment}: {running} running, new open intents {report.open_intents}")
        return report

    async def stop(self, timeout: float = 40.0) -> int:
        """SIGTERM: aiohttp's graceful shutdown; returns the exit code."""
        assert self.proc is not None
        self.note("SIGTERM")
        self.proc.send_signal(signal.SIGTERM)
        return await self._wait_exit(timeout)

    def ensure_dead(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    async def status(self, session: aiohttp.ClientSession) -> dict[str, Any]:
        async with session.get(f"{self.url}/api/status") as resp:
            resp.raise_for_status()
            payload: dict[str, Any] = await resp.json()
            return payload


def journal_at_rest(path: Path) -> tuple[int, list[str]]:
    """Work left running and intents left open by a killed agent: what its successor must recover."""
    with sqlite3.connect(path, timeout=5) as conn:
        running = conn.execute("SELECT COUNT(*) FROM work_items WHERE state = 'running'").fetchone()[0]
        intents = [r[0] for r in conn.execute("SELECT key FROM intents WHERE state = 'started' ORDER BY key")]
    conn.close()
    return int(running), intents


async def wait_for(predicate: Callable[[], bool], *, timeout: float, step: float = 0.02) -> bool:
    """Poll ``predicate`` until it holds (True) or ``timeout`` seconds have passed (False)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(step)
    return True


async def until(predicate: Callable[[], bool], *, timeout: float, what: str, step: float = 0.02) -> None:
    if not await wait_for(predicate, timeout=timeout, step=step):
        raise AssertionError(f"timed out after {timeout} s waiting for {what}")


# -- the books --------------------------------------------------------------------------------------


def _booked(doc: dict[str, Any]) -> bool:
    return str(doc.get("is_booked")).upper() in ("YES", "TRUE", "1")


def documents(store: Store, table: str, prefix: str) -> dict[int, list[dict[str, Any]]]:
    """Documents of ``table`` by the Woo id in their deterministic reference (``woo/order-17`` -> 17)."""
    found: dict[int, list[dict[str, Any]]] = {}
    for row in store.tables[table].values():
        doc = store.render(table, row)
        ref = str(doc.get("requisition") or "")
        woo_id = ref.removeprefix(prefix)
        if woo_id != ref and woo_id.isdigit():
            found.setdefault(int(woo_id), []).append(doc)
    return found


def count_documents(store: Store) -> tuple[int, int, int]:
    """(invoices, booked invoices, credit notes) in the books now."""
    invoices = [store.render("debtor_invoice", r) for r in store.tables["debtor_invoice"].values()]
    return len(invoices), sum(map(_booked, invoices)), len(store.tables["debtor_creditnote"])


def booked_invoices(store: Store) -> set[int]:
    """Order ids that have a booked invoice."""
    invoices = documents(store, "debtor_invoice", "woo/order-")
    return {order_id for order_id, docs in invoices.items() if any(map(_booked, docs))}


def audit_books(store: Store, orders: dict[int, Decimal], refunds: dict[int, tuple[int, Decimal]]) -> list[str]:
    """Every problem with the books: ``orders`` is order id -> WooCommerce total, ``refunds`` is
    refund id -> (order id, amount). Empty when each order has exactly one booked invoice of its
    total and each refund exactly one credit note of its amount on that order's invoice."""
    problems: list[str] = []
    invoices = documents(store, "debtor_invoice", "woo/order-")
    notes = documents(store, "debtor_creditnote", "woo/refund-")
    for order_id, total in sorted(orders.items()):
        found = invoices.get(order_id, [])
        if len(found) != 1:
            ids = [d["id"] for d in found]
            problems.append(f"order {order_id}: {len(found)} invoices (ids {ids}), expected exactly one")
            continue
        inv = found[0]
        if not _booked(inv):
            problems.append(f"order {order_id}: invoice id {inv['id']} is not booked")
        if Decimal(str(inv["total_amount"])) != total:
            problems.append(f"order {order_id}: invoice total {inv['total_amount']} != WooCommerce total {total}")
    problems += [f"invoice(s) for order {oid} that was never placed" for oid in sorted(set(invoices) - set(orders))]
    invoice_of = {order_id: docs[0]["id"] for order_id, docs in invoices.items() if len(docs) == 1}
    for refund_id, (order_id, amount) in sorted(refunds.items()):
        found = notes.get(refund_id, [])
        if len(found) != 1:
            problems.append(f"refund {refund_id} (order {order_id}): {len(found)} credit notes, expected one")
            continue
        note = found[0]
        if not _booked(note):
            problems.append(f"refund {refund_id} (order {order_id}): credit note id {note['id']} is not booked")
        if Decimal(str(note["total_amount"])) != amount:
            problems.append(f"refund {refund_id}: credit note total {note['total_amount']} != refund amount {amount}")
        if order_id in invoice_of and note["invoice_id"] != invoice_of[order_id]:
            problems.append(f"refund {refund_id}: credits invoice id {note['invoice_id']}, "
                            f"not order {order_id}'s invoice id {invoice_of[order_id]}")  # fmt: skip
    problems += [f"credit note(s) for refund {rid} that was never made" for rid in sorted(set(notes) - set(refunds))]
    vouchers = Counter(str(row.get("txt")) for row in store.tables["enclosure"].values())
    problems += [f"{n} payment registrations {txt!r}, expected at most one" for txt, n in sorted(vouchers.items())
                 if n > 1 and txt.endswith(("-payment", "-payout"))]  # fmt: skip
    credited: dict[Any, Decimal] = {}
    for docs in notes.values():
        for note in docs:
            amount = Decimal(str(note["total_amount"]))
            credited[note["invoice_id"]] = credited.get(note["invoice_id"], Decimal(0)) + amount
    totals = {d["id"]: Decimal(str(d["total_amount"])) for docs in invoices.values() for d in docs}
    for invoice_id, amount in sorted(credited.items()):
        if invoice_id in totals and amount > totals[invoice_id]:
            problems.append(f"invoice id {invoice_id} credited {amount}, beyond its total {totals[invoice_id]}")
    return problems


def journal_story(path: Path, order_ids: list[int], refund_ids: list[int]) -> str:
    """The journal's account of some orders and refunds, for an assertion message."""
    lines: list[str] = []
    refund_ids = list(refund_ids)
    with sqlite3.connect(path, timeout=5) as conn:

        def rows(sql: str, *args: object) -> list[Any]:
            return conn.execute(sql, args).fetchall()

        refund_links = [(woo_id, json.loads(data or "{}")) for woo_id, data in rows(
            "SELECT woo_id, data FROM links WHERE kind = 'refund'")]  # fmt: skip
        for key, state, reason, error in rows("SELECT key, state, reason, error FROM work_items"
                                               " WHERE state NOT IN ('done', 'skipped')"):  # fmt: skip
            lines.append(f"-- {key} is {state}: {reason or ''} {error or ''}")
            if key.startswith("order:"):  # the refunds it is stuck on
                refund_ids += [int(w) for w, d in refund_links if str(d.get("order_id")) == key[6:]]
        for order_id in order_ids[:5]:
            key, ref = f"order:{order_id}", f"woo/order-{order_id}"
            lines += [
                f"-- {key}: work {rows('SELECT state, attempts, reason, error FROM work_items WHERE key = ?', key)}",
                f"   intents {rows('SELECT key, state, attempts, result FROM intents WHERE key LIKE ?', f'%{ref}%')}",
                f"   links {rows('SELECT kind, dyn_id, state FROM links WHERE woo_id = ?', str(order_id))}",
            ]
            events = rows("SELECT level, message FROM events WHERE work_key = ? ORDER BY id DESC LIMIT 8", key)
            lines += [f"   event {level}: {message}" for level, message in reversed(events)]
        for refund_id in sorted(set(refund_ids))[:8]:
            ref = f"woo/refund-{refund_id}"
            lines += [
                f"-- refund {refund_id}: intents "
                f"{rows('SELECT key, state, attempts, result FROM intents WHERE key LIKE ?', f'%{ref}%')}",
                f"   link {rows('SELECT dyn_id, state, amount FROM links WHERE kind = ? AND woo_id = ?', 'refund', str(refund_id))}",
            ]
    conn.close()
    return "\n".join(lines)


def failure_report(problems: list[str], header: str, journal: Path, agent: AgentProcess) -> str:
    """An assertion message: the problems, what the journal says about the ids they name, the log."""
    orders = sorted({int(p.split()[1].rstrip(":")) for p in problems if p.startswith("order ")})
    refunds = sorted({int(p.split()[1].rstrip(":")) for p in problems if p.startswith("refund ")})
    return (
        f"{len(problems)} problem(s) ({header}):\n" + "\n".join(problems[:20])
        + f"\n\njournal:\n{journal_story(journal, orders, refunds)}\n\nagent log:\n{agent.log_tail()}"
    )  # fmt: skip
