"""Fixtures for the edge tests: both sandboxes and the agent on loopback with a manual clock."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agent.clock import ManualClock
from agent.sandbox.demo import demo_stack
from agent.sandbox.dynaccount.faults import FaultConfig


@pytest.fixture
def make_stack(tmp_path: Path) -> Callable[..., Any]:
    def make(faults: FaultConfig | None = None, **overrides: dict[str, Any]) -> Any:
        clock = ManualClock()
        return clock, demo_stack(tmp_path / "stack", faults=faults, delivery_delay=0.0, clock=clock, autostart=False,
                                 overrides=overrides)

    return make
