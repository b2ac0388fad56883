"""Prometheus metrics, rendered by ``prometheus_client``.

Two kinds of figures: calls to the outside systems are counted and timed as they happen (the client
libraries report each call to a hook the composition root wires here); everything else is state that
already lives in the journal or in the running services, read once per scrape into a :class:`Snapshot`
and exposed by a collector, so no figure is kept twice. Names are listed in the README ("Metrics").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

P = "dynaccount_agent_"
CallHook = Callable[[str, str, float], None]


@dataclass(frozen=True)
class JobFigures:
    last_run: float | None
    failed: bool  # the last run ended with an error
    errors: int = 0


@dataclass
class Snapshot:
    """The state figures of one scrape."""

    deliveries: dict[str, int] = field(default_factory=dict)  # stored deliveries by intake state
    repeats: int = 0
    rejected: dict[str, int] = field(default_factory=dict)  # reason -> requests refused since start
    work: dict[str, int] = field(default_factory=dict)
    oldest_pending_age: float | None = None
    worker_last_run: float | None = None
    worker_errors: int = 0
    worker_processed: int = 0
    worker_paused: bool = False
    jobs: dict[str, JobFigures] = field(default_factory=dict)  # sweep job name -> figures
    outside_up: dict[str, bool] = field(default_factory=dict)  # system -> reachable
    # Other rooms' counts (stock, mail, …): metric name suffix -> (help, {label value: n}, label name)
    counts: dict[str, tuple[str, dict[str, int], str]] = field(default_factory=dict)


def _gauge(name: str, doc: str, value: float, labels: dict[str, str] | None = None) -> GaugeMetricFamily:
    family = GaugeMetricFamily(P + name, doc, labels=list(labels or {}))
    family.add_metric(list((labels or {}).values()), value)
    return family


def _labelled(family: GaugeMetricFamily | CounterMetricFamily, values: dict[str, int]) -> Metric:
    for label, value in sorted(values.items()):
        family.add_metric([label], value)
    return family


class _StateCollector(Collector):
    def __init__(self) -> None:
        self.snapshot = Snapshot()

    def collect(self) -> Iterable[Metric]:
        s = self.snapshot
        yield _labelled(CounterMetricFamily(P + "deliveries", "Deliveries journaled, by intake state.",
                                            labels=["state"]), s.deliveries)  # fmt: skip
        yield CounterMetricFamily(P + "delivery_repeats", "Repeated deliveries recognised.", value=s.repeats)
        yield _labelled(CounterMetricFamily(P + "deliveries_rejected", "Requests refused since start, by reason.",
                                            labels=["reason"]), s.rejected)  # fmt: skip
        yield _labelled(GaugeMetricFamily(P + "work_items", "Work items by state.", labels=["state"]), s.work)
        yield _gauge("oldest_pending_age_seconds", "How long the longest-waiting pending item has waited.",
                     s.oldest_pending_age or 0.0)  # fmt: skip
        yield from self._worker(s)
        yield from self._jobs(s)
        yield _labelled(GaugeMetricFamily(P + "outside_up", "1 when the outside system answered its last call.",
                                          labels=["system"]), {k: int(v) for k, v in s.outside_up.items()})  # fmt: skip
        for suffix, (doc, values, label) in sorted(s.counts.items()):
            yield _labelled(GaugeMetricFamily(P + suffix, doc, labels=[label]), values)

    @staticmethod
    def _worker(s: Snapshot) -> Iterable[Metric]:
        if s.worker_last_run is not None:
            yield _gauge("worker_last_run_timestamp_seconds", "When the worker loop last looked for work.",
                         s.worker_last_run)  # fmt: skip
        yield CounterMetricFamily(P + "worker_errors", "Failed attempts since start.", value=s.worker_errors)
        yield CounterMetricFamily(P + "worker_processed", "Items finished since start.", value=s.worker_processed)
        yield _gauge("worker_paused", "1 while the worker is paused (credentials refused).", int(s.worker_paused))

    @staticmethod
    def _jobs(s: Snapshot) -> Iterable[Metric]:
        last = GaugeMetricFamily(P + "sweep_last_run_timestamp_seconds", "When a sweep job last ran.", labels=["job"])
        failed = GaugeMetricFamily(P + "sweep_last_run_failed", "1 when a sweep job's last run failed.",
                                   labels=["job"])  # fmt: skip
        errors = CounterMetricFamily(P + "sweep_errors", "Failed sweep runs since start.", labels=["job"])
        for name, job in sorted(s.jobs.items()):
            if job.last_run is not None:
                last.add_metric([name], job.last_run)
            failed.add_metric([name], int(job.failed))
            errors.add_metric([name], job.errors)
        yield from (last, failed, errors)


class Metrics:
    """One registry per agent (tests run several agents in one process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.calls = Counter(P + "outside_calls", "Calls to WooCommerce and Dynaccount, by method and outcome.",
                             ["system", "method", "outcome"], registry=self.registry)  # fmt: skip
        self.latency = Histogram(P + "outside_call_duration_seconds", "Duration of calls to the outside systems.",
                                 ["system", "method"], registry=self.registry)  # fmt: skip
        self._state = _StateCollector()
        self.registry.register(self._state)

    def call_hook(self, system: str) -> CallHook:
        """The hook a client library calls after each call: ``(method, outcome, seconds)``."""

        def observe(method: str, outcome: str, seconds: float) -> None:
            self.calls.labels(system, method, outcome).inc()
            self.latency.labels(system, method).observe(seconds)

        return observe

    def exposition(self, snapshot: Snapshot) -> bytes:
        self._state.snapshot = snapshot
        return generate_latest(self.registry)
