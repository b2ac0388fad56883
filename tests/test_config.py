from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from pydantic import BaseModel

from agent.config import Config, ConfigError, load_config, parse_config, resolve_path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "config.example.toml"


def _fields(model: type[BaseModel], prefix: str = "") -> list[tuple[str, str]]:
    """(table, key) for every leaf setting of the config models."""
    out = []
    for name, info in model.model_fields.items():
        ann = info.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            out += _fields(ann, f"{prefix}{name}.")
        else:
            out.append((prefix.rstrip("."), name))
    return out


def test_example_config_is_valid_and_documents_every_key() -> None:
    config = load_config(EXAMPLE)
    assert config.server.port == 8787
    text = EXAMPLE.read_text(encoding="utf-8")
    # optional keys are shown commented out ("# key = value"); they count as documented
    raw = tomllib.loads(re.sub(r"(?m)^# (\w+ = )", r"\1", text).replace("match = \"email\"", "match = \"shared\""))
    missing = []
    for table, key in _fields(Config):
        node = raw
        for part in table.split("."):
            node = node.get(part, {})
        if key not in node:
            missing.append(f"{table}.{key}")
    assert missing == [], f"config.example.toml lacks {missing}"
    # every key is preceded by a comment line somewhere in its table
    for line_no, line in enumerate(text.splitlines()):
        if "=" in line and not line.lstrip().startswith("#"):
            before = text.splitlines()[line_no - 1].strip()
            assert before.startswith("#") or "=" in before, f"key without a comment: {line!r}"


def test_defaults_and_secret_hidden(make_config) -> None:  # type: ignore[no-untyped-def]
    config = make_config()
    assert (config.server.host, config.server.port) == ("127.0.0.1", 8787)
    assert config.dynaccount.base_url == "http://127.0.0.1:9"
    assert "woo-stack" not in repr(config) and "woo-stack" not in str(config.model_dump())


@pytest.mark.parametrize(
    ("patch", "expected"),
    [
        ({"server": {"port": 70000}}, "server.port"),
        ({"server": {"prot": 1}}, "server.prot: unknown key"),
        ({"woocommerce": {"url": "shop.example.dk"}}, "woocommerce.url: Value error, must start with http"),
        ({"dynaccount": {"api_id": "abc"}}, "dynaccount.api_id"),
        ({"woocommerce": {"webhook_secret": "short"}}, "woocommerce.webhook_secret"),
        ({"journal": {"synchronous": "OFF"}}, "journal.synchronous"),
    ],
)
def test_wrong_values_name_the_key(raw_config, patch: dict[str, dict[str, object]], expected: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError) as info:
        parse_config(raw_config(**patch))
    assert expected in str(info.value)
    assert "Traceback" not in str(info.value)


def test_missing_table_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"dynaccount: required key is missing"):
        parse_config({"woocommerce": {}})


def test_resolve_path_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DYNACCOUNT_AGENT_CONFIG", raising=False)
    assert resolve_path(None) == Path("config.toml")
    monkeypatch.setenv("DYNACCOUNT_AGENT_CONFIG", "/etc/x.toml")
    assert resolve_path(None) == Path("/etc/x.toml")
    assert resolve_path("given.toml") == Path("given.toml")


def test_check_command_exit_codes(tmp_path: Path) -> None:
    good = subprocess.run(
        [sys.executable, "-m", "agent", "check", "--config", str(EXAMPLE)], capture_output=True, text=True
    )
    assert good.returncode == 0, good.stderr
    assert "OK" in good.stdout
    bad_file = tmp_path / "bad.toml"
    bad_file.write_text(EXAMPLE.read_text().replace("port = 8787", "port = \"eighty\""))
    bad = subprocess.run(
        [sys.executable, "-m", "agent", "check", "--config", str(bad_file)], capture_output=True, text=True
    )
    assert bad.returncode == 2
    assert "server.port" in bad.stderr and "Traceback" not in bad.stderr
    broken = tmp_path / "broken.toml"
    broken.write_text("[server\nport=1")
    out = subprocess.run(
        [sys.executable, "-m", "agent", "check", "--config", str(broken)], capture_output=True, text=True
    )
    assert out.returncode == 2 and "not valid TOML" in out.stderr and "Traceback" not in out.stderr
