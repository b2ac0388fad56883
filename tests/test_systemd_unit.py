"""The shipped unit: Type=notify with a watchdog, and its hardening score stays at or below 1.4."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parent.parent / "systemd" / "dynaccount-agent@.service"


def settings() -> dict[str, str]:
    return dict(line.split("=", 1) for line in UNIT.read_text().splitlines() if "=" in line and not line.startswith("#"))


def test_notify_and_watchdog() -> None:
    unit = settings()
    assert unit["Type"] == "notify" and unit["NotifyAccess"] == "main"
    assert int(unit["WatchdogSec"]) >= 30  # the worker pings at half of it; its poll interval is seconds


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_exposure_stays_at_or_below_1_4() -> None:
    out = subprocess.run(["systemd-analyze", "security", "--offline=true", str(UNIT)], capture_output=True,
                         text=True, timeout=60)  # fmt: skip
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", out.stdout)
    assert match is not None, out.stdout + out.stderr
    assert float(match.group(1)) <= 1.4
