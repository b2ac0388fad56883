"""Fault injection for the sandbox: random rates (seeded) plus one-shot forced faults per test.

Kinds: ``5xx`` (503, nothing applied), ``429`` (with Retry-After), ``drop`` (connection closed
before processing), ``commit_then_fail`` (the write is applied, then the connection is closed so
the response is lost), ``slow`` (extra delay), ``bad_json`` (200 with a non-JSON body),
``missing_result`` (200 with ``{}``), ``400`` (the request refused: a permanent error, forced only).
``latency_ms`` is a fixed delay on every API call.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import asdict, dataclass, field, fields
from typing import Any

BEFORE_KINDS = ("drop", "5xx", "429", "bad_json", "missing_result", "400")
KINDS = (*BEFORE_KINDS, "commit_then_fail", "slow")
WRITE_METHODS = ("put", "insert_bulk", "delete", "action")


@dataclass
class FaultConfig:
    error_5xx: float = 0.0
    rate_429: float = 0.0
    retry_after: float = 1.0
    drop: float = 0.0
    commit_then_fail: float = 0.0
    slow: float = 0.0
    slow_ms: int = 2000
    latency_ms: int = 0
    bad_json: float = 0.0
    seed: int | None = None

    def update(self, values: dict[str, Any]) -> None:
        known = {f.name for f in fields(self)}
        for key, value in values.items():
            if key not in known:
                raise ValueError(f"unknown fault setting {key!r}")
            kind = float if isinstance(getattr(self, key), float) else int
            setattr(self, key, None if value is None else kind(value))


@dataclass
class Forced:
    kind: str
    method: str | None
    name: str | None
    remaining: int


@dataclass
class FaultInjector:
    config: FaultConfig = field(default_factory=FaultConfig)
    forced: list[Forced] = field(default_factory=list)
    injected: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.config.seed)

    def force(self, kind: str, *, times: int = 1, method: str | None = None, name: str | None = None) -> None:
        """Inject ``kind`` on the next ``times`` calls matching method (e.g. ``put``) and name
        (table or action); for ``commit_then_fail`` only writes match."""
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of {', '.join(KINDS)}")
        self.forced.append(Forced(kind, method, name, times))

    def clear(self) -> None:
        self.forced.clear()
        self.config = FaultConfig(latency_ms=self.config.latency_ms, seed=self.config.seed)

    def reseed(self) -> None:
        self._rng = random.Random(self.config.seed)

    def state(self) -> dict[str, Any]:
        return {"config": asdict(self.config), "forced": [asdict(f) for f in self.forced],
                "injected": dict(self.injected)}  # fmt: skip

    def delay(self, method: str, name: str) -> float:
        """Seconds to wait before handling this call."""
        extra = self.config.slow_ms if self._take("slow", method, name, self.config.slow) else 0
        return (self.config.latency_ms + extra) / 1000

    def before(self, method: str, name: str) -> str | None:
        """A fault that replaces processing, or None."""
        rates = {"drop": self.config.drop, "5xx": self.config.error_5xx, "429": self.config.rate_429,
                 "bad_json": self.config.bad_json, "missing_result": 0.0, "400": 0.0}  # fmt: skip
        for kind in BEFORE_KINDS:
            if self._take(kind, method, name, rates[kind]):
                return kind
        return None

    def lose_response(self, method: str, name: str) -> bool:
        """After a successful write: drop the connection so the response is lost?"""
        if method not in WRITE_METHODS:
            return False
        return self._take("commit_then_fail", method, name, self.config.commit_then_fail)

    def _take(self, kind: str, method: str, name: str, rate: float) -> bool:
        for forced in self.forced:
            if forced.kind == kind and forced.method in (None, method) and forced.name in (None, name):
                if kind == "commit_then_fail" and method not in WRITE_METHODS:
                    continue
                forced.remaining -= 1
                if forced.remaining <= 0:
                    self.forced.remove(forced)
                self.injected[kind] += 1
                return True
        if rate > 0 and self._rng.random() < rate:
            self.injected[kind] += 1
            return True
        return False
