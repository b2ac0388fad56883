"""Pipeline throughput: orders per second from first webhook to booked invoice, against the sandboxes.

The agent runs in this process, as the demo starts it (``agent.sandbox.demo.stack_config``, real clock,
worker loop, sweep), beside nothing but this bench's driver (placing the orders through the shop's REST API,
polling the journal every 0.1 s); it registers its webhooks through the shop's REST API. The two sandboxes run in child
processes on loopback (``bench/agentstack.py`` over ``agent.sandbox.processes``): by default one each, started with their own CLI
(``dynaccount-agent sandbox dynaccount --latency-ms …`` and ``… sandbox woocommerce --delivery-delay 0``),
with ``--sandboxes one`` both in one child. So their CPU (aiohttp on both ends, tens of ms per order) is
neither counted as the agent's nor taken from its process; it is printed beside the agent's, per process,
with the machine's load average. The Dynaccount sandbox adds a fixed latency to every API call. For each
case (fresh sandboxes, fresh journal) the benchmark places ``--orders`` paid orders through the shop's REST
API and measures the wall time from just before the first order is placed until the last order's work item
is done (its invoice booked and payment registered), read from the journal's timestamps.

The Dynaccount calls made in that window (the sandbox's request log, ``/_sandbox/calls``) give calls per
order, and with them the floor the issue names: ``calls/order × orders × latency ÷ worker concurrency``
seconds, i.e. the time the run would take if nothing but the injected latency cost anything and
``concurrency`` calls were always in flight. ``ratio`` is achieved rate ÷ floor rate (1.0 = at the floor).
Every run is checked with ``agent.sandbox.demo.verify`` over a copy of the sandbox's store read over HTTP
(``/_sandbox/state``): one booked invoice per order, totals and VAT per code to the øre; a wrong run reports
PROBLEMS and no figure, and the benchmark exits 1.

Calls per order are also printed by method for a **new** and a **returning** customer (the first order
placed of a customer, as the planner matches customers, is a new customer's): the agent's Dynaccount client
tells its per-call hook of every call in the task that made it, and the worker names each item's task
``work <key>``. That no call escapes the hook is checked when the agent has stopped: every call the client
reported since it started must be in the sandbox's request log, method by method, and no other (else the
bench stops with an error). After each case every done order is re-opened once (as the sweep's overlap window
does) and the calls that costs (the sandbox's log) are printed (goal: none). Per case the bench also prints
where the worker's time went, timed in the agent: how busy its ``concurrency`` slots were over the window
(ramp-up and the last orders leave some idle), the mean time of a Dynaccount call in a run (latency, round
trip, and the wait for the ``max_parallel_calls`` gate), and the time per run outside Dynaccount calls
(WooCommerce reads, the journal, the agent's CPU, and waits for the agent's own locks).

    .venv/bin/python bench/pipeline.py [--orders 60] [--latency-ms 150] [--concurrency 8] [--synchronous NORMAL]
                                       [--sandboxes two|one]

By default two cases run at worker concurrency 8: the shipped ``[dynaccount] max_parallel_calls``
(1: calls serialised, A-14; goal ratio ≥ 0.9 to ``1 ÷ (calls/order × latency)``), and
``max_parallel_calls`` 8 (goal ≥ 0.8 to the ÷ 8 floor). The default latency is the issue's 150 ms a call:
at a few ms the agent's own CPU (tens of ms per order on a small shared machine) is what the ÷ 8 floor
leaves no room for, which is not Dynaccount's latency. ``--concurrency 1 8`` adds the serial case,
``--parallel-calls 0`` leaves out the parallel one, ``--no-sweep`` turns off the REST sweep (the demo runs it
every 5 s with a 5 s overlap).
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.app import JOURNAL
from agent.journal import CHANGED
from agent.plan.debtor import decide_debtor
from agent.sandbox.demo import place_orders, verify
from agent.sandbox.processes import dynaccount_store
from bench.agentstack import Remote, Timing, count_by_item, remote_stack, time_runs

TERMINAL = ("done", "skipped", "held", "failed")


@dataclass
class Result:
    concurrency: int
    parallel_calls: int
    orders: int
    seconds: float
    place_seconds: float
    calls: int
    runs: int  # work items the worker finished in the window (an order re-run after a new delivery counts twice)
    by_call: Counter[str]
    latency_ms: int
    states: Counter[str]
    booked: int
    ok: bool
    problems: list[str]
    kinds: dict[str, list[str]] = field(default_factory=dict)  # new / returning customer -> order keys
    by_item: dict[str, Counter[str]] = field(default_factory=dict)  # work key -> calls by method
    rerun_calls: Counter[str] = field(default_factory=Counter)  # calls when every done order is re-opened once
    cpu_seconds: float = 0.0  # this process's CPU in the window: the agent (and this bench placing orders)
    sandbox_cpu: dict[str, float] = field(default_factory=dict)  # each sandbox child's CPU in the window
    load: tuple[float, float] = (0.0, 0.0)  # the machine's 1-minute load average before and after the window
    timing: Timing | None = None

    def per_kind(self, kind: str) -> tuple[int, Counter[str]]:
        keys = self.kinds.get(kind, [])
        total: Counter[str] = Counter()
        for key in keys:
            total.update(self.by_item.get(key, Counter()))
        return len(keys), total

    @property
    def rate(self) -> float:
        return self.orders / self.seconds

    @property
    def calls_per_order(self) -> float:
        return self.calls / self.orders

    @property
    def floor_seconds(self) -> float:
        """The issue's floor: calls/order × orders × latency ÷ worker concurrency."""
        return self.calls_per_order * self.orders * self.latency_ms / 1000 / self.concurrency

    @property
    def floor_rate(self) -> float:
        return self.orders / self.floor_seconds

    @property
    def gated_floor_rate(self) -> float:
        """The floor with at most ``max_parallel_calls`` Dynaccount calls in flight."""
        return self.floor_rate * min(self.concurrency, self.parallel_calls) / self.concurrency


async def _customer_kinds(stack: Remote, ids: list[int]) -> dict[str, list[str]]:
    """Each order's customer, as the planner matches it: the first order placed of a customer is a new
    customer's, later ones a returning customer's."""
    seen: set[str] = set()
    kinds: dict[str, list[str]] = {"new": [], "returning": []}
    for order_id in ids:
        d = decide_debtor(await stack.shop.get_order(order_id), stack.config.plan, None)
        key = f"{d.kind}:{d.match_key}:{d.match_value}"
        kinds["returning" if key in seen else "new"].append(f"order:{order_id}")
        seen.add(key)
    return kinds


async def _rerun_done(stack: Remote, keys: set[str], limit: float) -> Counter[str]:
    """Re-open every done order once, as a sweep pass or a late delivery does, and count the calls."""
    journal = stack.app[JOURNAL]
    before = await stack.dyn_calls()
    for key in sorted(keys):
        await journal.hint_work(key, fingerprint=CHANGED)
    stack.services.worker.wake()
    await _wait_for_orders(stack, keys, limit)
    return await stack.dyn_calls() - before


async def _wait_for_orders(stack: Remote, keys: set[str], limit: float) -> dict[str, tuple[str, float]]:
    """Poll the journal until every order's work item has ended and nothing else is pending."""
    journal = stack.app[JOURNAL]
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        await asyncio.sleep(0.1)  # the end time is read from the journal, not from this loop
        counts = await journal.counts()  # cheap: one GROUP BY
        if counts.work["pending"] or counts.work["running"]:
            continue
        await stack.woo_idle()  # a late delivery could still put an order back to pending
        counts = await journal.counts()
        if counts.work["pending"] or counts.work["running"]:
            continue
        items = await journal.list_work(kind="order", limit=len(keys) * 4 + 100)
        seen = {i.key: (i.state, i.updated_at) for i in items if i.key in keys}
        if len(seen) == len(keys) and all(state in TERMINAL for state, _ in seen.values()):
            return seen
    raise TimeoutError(f"the orders were not all processed within {limit:.0f} s")


async def _books(stack: Remote, ids: list[int], ended: dict[str, tuple[str, float]]) -> tuple[bool, list[str], int]:
    """``agent.sandbox.demo.verify`` over a copy of the Dynaccount sandbox's store: (ok, problems, booked)."""
    stack.dyn.store = await dynaccount_store(stack.session, stack.dyn_url)
    verdict = await verify(stack, ids)  # type: ignore[arg-type]  # a Remote has what verify reads of a Stack
    states = Counter(state for state, _ in ended.values())
    problems = [f"missing invoice for order {n}" for n in verdict.missing if n > 0]
    problems += verdict.mismatched + verdict.vat_mismatched
    problems += [f"{verdict.duplicates} duplicate documents"] * bool(verdict.duplicates)
    problems += [f"order not booked: {verdict.invoiced - verdict.booked} invoices"] * (verdict.booked != verdict.invoiced)
    problems += [f"{n} order items ended {s}" for s, n in states.items() if s != "done"]
    ok = verdict.ok and not problems and verdict.invoiced == len(ids) == verdict.booked
    return ok, problems, verdict.booked


async def run_case(concurrency: int, parallel_calls: int | None, args: argparse.Namespace) -> Result:
    overrides: dict[str, dict[str, object]] = {
        "worker": {"concurrency": concurrency},
        "journal": {"synchronous": args.synchronous},
        "sweep": {"enabled": not args.no_sweep},
    }
    if parallel_calls is not None:
        overrides["dynaccount"] = {"max_parallel_calls": parallel_calls}
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp:
        async with remote_stack(Path(tmp), overrides, latency_ms=args.latency_ms,
                                one_child=args.sandboxes == "one") as stack:
            gate = stack.config.dynaccount.max_parallel_calls
            assert stack.config.worker.concurrency == concurrency
            assert stack.services.references is not None
            await stack.services.references.wait()  # the daemon's background load (a fresh company: one page each)
            if not stack.services.references.complete:
                raise RuntimeError("the reference index did not load")
            timing = Timing()
            by_item = count_by_item(stack, timing)
            time_runs(stack, timing)
            before, runs = await stack.dyn_calls(), stack.services.worker.processed
            load = os.getloadavg()[0]
            cpu, children = time.process_time(), stack.cpu()
            start = time.time()  # the journal's timestamps come from the same clock (SystemClock)
            ids = await place_orders(stack, args.orders, seed=args.seed)  # type: ignore[arg-type]  # reads .shop
            placed = time.time() - start
            keys = {f"order:{i}" for i in ids}
            ended = await _wait_for_orders(stack, keys, args.timeout)
            end = max(at for _, at in ended.values())
            timing = replace(timing)  # the window's figures, not the re-run's
            cpu = time.process_time() - cpu
            children = {k: v - children[k] for k, v in stack.cpu().items()}
            by_call = await stack.dyn_calls() - before
            runs = stack.services.worker.processed - runs
            load_after = os.getloadavg()[0]
            ok, problems, booked = await _books(stack, ids, ended)
            kinds = await _customer_kinds(stack, ids)
            items = {k: Counter(v) for k, v in by_item.items()}
            rerun = await _rerun_done(stack, keys, args.timeout) if ok and not args.no_rerun else Counter()
    states = Counter(state for state, _ in ended.values())
    return Result(concurrency, gate, len(ids), end - start, placed, sum(by_call.values()), runs, by_call,
                  args.latency_ms, states, booked, ok, problems, kinds, items, rerun, cpu, children,
                  (load, load_after), timing)  # fmt: skip


def print_table(results: list[Result], args: argparse.Namespace) -> bool:
    print(f"orders {args.orders}, injected latency {args.latency_ms} ms per Dynaccount call, "
          f"journal synchronous={args.synchronous}, sweep {'off' if args.no_sweep else 'on (every 5 s, as in the demo)'}")  # fmt: skip
    head = (f"{'concurrency':>11} {'max_par':>7} {'books':>5} {'wall s':>7} {'orders/s':>9} {'calls/order':>11} {'runs/order':>10} "
            f"{'floor/s':>8} {'ratio':>6} {'gated floor/s':>13} {'ratio':>6}")  # fmt: skip
    print(head)
    print("-" * len(head))
    good = True
    for r in results:
        books = "ok" if r.ok else "WRONG"
        if not r.ok:
            good = False
            print(f"{r.concurrency:>11} {r.parallel_calls:>7} {books:>5}  " + "; ".join(r.problems[:5]))
            continue
        print(f"{r.concurrency:>11} {r.parallel_calls:>7} {books:>5} {r.seconds:7.2f} {r.rate:9.2f} "
              f"{r.calls_per_order:11.2f} {r.runs / r.orders:10.2f} {r.floor_rate:8.2f} {r.rate / r.floor_rate:6.2f} "
              f"{r.gated_floor_rate:13.2f} {r.rate / r.gated_floor_rate:6.2f}")  # fmt: skip
    ok = [r for r in results if r.ok]
    base = next((r for r in ok if r.concurrency == 1), None)
    for r in ok:
        if base is not None and r is not base:
            print(f"speed-up concurrency {r.concurrency} (max_parallel_calls {r.parallel_calls}) vs 1: "
                  f"{r.rate / base.rate:.2f}x")  # fmt: skip
    if ok:
        mix = ok[0].by_call
        per = ", ".join(f"{k} {v / ok[0].orders:.2f}" for k, v in mix.most_common())
        print(f"calls per order (concurrency {ok[0].concurrency}): {per}")
        for r in ok:
            print_kinds(r)
        print("placing the orders alone took: "
              + ", ".join(f"{r.place_seconds:.2f} s (c={r.concurrency}, p={r.parallel_calls})" for r in ok))  # fmt: skip
    for r in ok:
        if r.concurrency == 8 and r.parallel_calls == 1:
            got = r.rate / r.gated_floor_rate
            print(f"goal: concurrency 8, serialised calls: ratio to 1 ÷ (calls/order × latency) {got:.2f} ≥ 0.90: "
                  f"{'met' if got >= 0.9 else 'NOT met'}")
        if r.concurrency == 8 and r.parallel_calls == 8:
            got = r.rate / r.floor_rate
            print(f"goal: concurrency 8, max_parallel_calls 8: ratio to the ÷ 8 floor {got:.2f} ≥ 0.80: "
                  f"{'met' if got >= 0.8 else 'NOT met'}")
    print("floor/s = orders ÷ (calls/order × orders × latency ÷ concurrency); "
          "gated floor/s divides by min(concurrency, max_parallel_calls) instead; ratio = orders/s ÷ floor/s")  # fmt: skip
    return good


def print_kinds(r: Result) -> None:
    """Calls per order by method for a new and a returning customer (calls in the order's own work item,
    re-runs included), and what re-opening every done order once costs (the sweep's overlap)."""
    children = ", ".join(f"{k} {v / r.orders * 1000:.0f} ms" for k, v in r.sandbox_cpu.items())
    print(f"case concurrency {r.concurrency}, max_parallel_calls {r.parallel_calls}: CPU per order: agent (this "
          f"process) {r.cpu_seconds / r.orders * 1000:.0f} ms; sandbox processes: {children}; "
          f"load average (1 min) {r.load[0]:.2f} before, {r.load[1]:.2f} after")  # fmt: skip
    for kind in ("new", "returning"):
        n, calls = r.per_kind(kind)
        if not n:
            continue
        per = ", ".join(f"{k} {v / n:.2f}" for k, v in sorted(calls.items(), key=lambda kv: (-kv[1], kv[0])))
        print(f"  {kind:>9} customer: {n:3} orders, {sum(calls.values()) / n:5.2f} calls/order: {per}")
    if r.timing is not None:
        print(r.timing.line(r.seconds, r.concurrency))
    outside = r.by_item.get("-", Counter())
    if outside:
        print(f"  outside order items: {sum(outside.values())} calls ({', '.join(f'{k} {v}' for k, v in outside.items())})")
    if r.rerun_calls is not None and r.ok:
        print(f"  re-opening every done order once: {sum(r.rerun_calls.values()) / r.orders:.2f} calls/order"
              + (f" ({', '.join(f'{k} {v}' for k, v in r.rerun_calls.items())})" if r.rerun_calls else ""))


async def _main(args: argparse.Namespace) -> int:
    cases: list[tuple[int, int | None]] = [] if args.parallel_only else [(c, None) for c in args.concurrency]
    if args.parallel_calls:
        cases += [(c, args.parallel_calls) for c in args.concurrency if c > 1]
    results = [await run_case(c, p, args) for c, p in cases]
    return 0 if print_table(results, args) else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=60)
    parser.add_argument("--latency-ms", type=int, default=150)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[8], help="worker concurrencies to run")
    parser.add_argument("--synchronous", choices=("NORMAL", "FULL"), default="NORMAL")
    parser.add_argument("--parallel-calls", type=int, default=8,
                        help="also run each concurrency > 1 with this max_parallel_calls (0: don't)")  # fmt: skip
    parser.add_argument("--no-sweep", action="store_true",
                        help="leave the REST sweep off (the demo's runs every 5 s and re-opens recent orders)")  # fmt: skip
    parser.add_argument("--parallel-only", action="store_true", help="only the max_parallel_calls case(s)")
    parser.add_argument("--no-rerun", action="store_true", help="skip re-opening the done orders after each case")
    parser.add_argument("--sandboxes", choices=("two", "one"), default="two",
                        help="the sandboxes in a child process each (their own CLI), or both in one child")  # fmt: skip
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for one case")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    return asyncio.run(_main(args))


if __name__ == "__main__":
    sys.exit(main())
