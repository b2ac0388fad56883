"""Shared fixtures for the agent's own tests (sub-folders add their own)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agent.config import Config, parse_config

FIXTURES = Path(__file__).parent / "fixtures"
REAL_WEBHOOKS = FIXTURES / "woocommerce-real" / "webhooks"
REAL_SECRET = "woo-stack-webhook-secret"


def real_deliveries() -> list[dict[str, Any]]:
    """Every captured delivery: {"name", "headers", "body" (bytes), "_meta"}."""
    out = []
    for path in sorted(REAL_WEBHOOKS.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        data["name"] = path.name
        data["body"] = data["body"].encode("utf-8")
        out.append(data)
    return out


def base_config_dict(tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "server": {"host": "127.0.0.1", "port": 8787},
        "journal": {"path": str(tmp_path / "journal.sqlite3")},
        "woocommerce": {
            "url": "http://127.0.0.1:9",
            "consumer_key": "ck_test",
            "consumer_secret": "cs_test",
            "webhook_secret": REAL_SECRET,
        },
        "dynaccount": {
            "api_id": 12345,
            "api_key": "0123456789abcdef0123456789abcdef01234567",
            "api_secret": "fedcba9876543210fedcba9876543210fedcba98",
            "base_url": "http://127.0.0.1:9",
        },
    }
    for table, values in overrides.items():
        raw.setdefault(table, {}).update(values)
    return raw


@pytest.fixture
def make_config(tmp_path: Path) -> Callable[..., Config]:
    def make(**overrides: Any) -> Config:
        return parse_config(base_config_dict(tmp_path, **overrides))

    return make


@pytest.fixture
def raw_config(tmp_path: Path) -> Callable[..., dict[str, Any]]:
    def make(**overrides: Any) -> dict[str, Any]:
        return base_config_dict(tmp_path, **overrides)

    return make
