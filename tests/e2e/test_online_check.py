"""`check --online` against both sandboxes: one call to each system, every wrong thing named with where
to fix it (issue 11 item 9)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from agent.__main__ import run_command
from agent.config import Config
from agent.preflight import Finding, online_check
from agent.sandbox.demo import CK, CS, stack_config
from agent.sandbox.dynaccount.server import SandboxConfig, running_sandbox
from agent.sandbox.ports import free_port
from agent.sandbox.woo import running_woo_sandbox
from agent.sandbox.woo.http import ApiKey

from .crashkit import agent_config, toml_dumps  # type: ignore[import-not-found]

ROOT = Path(__file__).resolve().parents[2]


def with_changes(config: Config, **tables: dict[str, Any]) -> Config:
    raw = config.model_dump(mode="python")
    for table, values in tables.items():
        raw[table].update(values)
    for table in ("woocommerce", "dynaccount"):  # SecretStr dumps masked: put the real values back
        for key, value in getattr(config, table):
            if hasattr(value, "get_secret_value") and key not in tables.get(table, {}):
                raw[table][key] = value.get_secret_value()
    return Config.model_validate(raw)


async def findings(config: Config) -> list[str]:
    found: list[Finding] = await run_command(config, lambda services, _: online_check(services))
    return [str(f) for f in found]


async def test_online_check_names_each_wrong_thing(tmp_path: Path) -> None:
    read_only = ApiKey("ck_readonly", "cs_readonly", permissions="read")
    async with running_sandbox(SandboxConfig()) as dyn, running_woo_sandbox(CK, CS, extra_keys=[read_only]) as woo:
        config = stack_config(tmp_path, agent_port=free_port(), woo_url=woo.base_url, dyn_url=dyn.base_url)
        calls = dict(dyn.stats)
        found = await findings(config)
        # before the agent ever ran, its webhooks do not exist yet: named with the fix; nothing else is wrong
        assert found and all("webhook for" in f and "--heal" in f for f in found), found
        assert dyn.stats != calls  # Dynaccount was really asked

        wrong = await findings(with_changes(config, woocommerce={"consumer_secret": "cs_wrong"}))
        assert len(wrong) == 1 and "WooCommerce: the API keys are refused" in wrong[0] and "consumer_secret" in wrong[0]
        ro = await findings(with_changes(config, woocommerce={"consumer_key": "ck_readonly",
                                                              "consumer_secret": "cs_readonly"}))  # fmt: skip
        assert any("read-only" in f and "Read/Write" in f for f in ro), ro

        dyn_wrong = await findings(with_changes(config, dynaccount={"api_key": "f" * 40}))
        assert any(f.startswith("Dynaccount: the API keys are refused") and "api_key" in f for f in dyn_wrong)

        missing = await findings(with_changes(config, vat={"zero_rated": "K99"}, products={"shipping": "FRAGT-X"},
                                              debtors={"b2b": {"group": "Nope", "match": "vat_number"}},
                                              dynaccount={"payment_draft": "Kladde-X"}))  # fmt: skip
        for expected in ("[vat] zero_rated: Dynaccount has no VAT code 'K99'", "product 'FRAGT-X' ([products] shipping)",
                         "debtor group 'Nope' ([debtors] b2b.group)", "booking draft 'Kladde-X' ([dynaccount] "
                         "payment_draft)"):  # fmt: skip
            assert any(expected in f for f in missing), (expected, missing)


async def test_check_online_command(tmp_path: Path) -> None:
    async with running_sandbox(SandboxConfig()) as dyn, running_woo_sandbox(CK, CS) as woo:
        tables = agent_config(tmp_path, port=free_port(), woo_url=woo.base_url, dyn_url=dyn.base_url)
        tables["woocommerce"]["consumer_secret"] = "cs_wrong"
        path = tmp_path / "agent.toml"
        path.write_text(toml_dumps(tables), encoding="utf-8")
        path.chmod(0o644)
        import asyncio

        out = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "agent", "check", "--online", "--config",
                                      str(path)], capture_output=True, text=True, cwd=ROOT)  # fmt: skip
        assert out.returncode == 3, out.stderr
        assert "WooCommerce: the API keys are refused" in out.stderr and "consumer_secret" in out.stderr
        assert "cs_wrong" not in out.stderr + out.stdout  # secrets never shown
        assert "readable by every user" in out.stderr and f"chmod 600 {path}" in out.stderr
        path.chmod(0o600)
        offline = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "agent", "check", "--config",
                                          str(path)], capture_output=True, text=True, cwd=ROOT)  # fmt: skip
        assert offline.returncode == 0 and "readable by every user" not in offline.stderr
