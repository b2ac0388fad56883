"""``python -m agent files import`` as a real process: no agent answers, so it books in its own process,
over real HTTP into the Dynaccount sandbox, and prints progress and a summary."""

from __future__ import annotations

import asyncio
import sys
from decimal import Decimal
from pathlib import Path

from agent.clock import ManualClock
from agent.sandbox.demo import CK, CS, WEBHOOK_SECRET, Stack, free_port

from .conftest import CONTRIB, invoice  # type: ignore[import-not-found]

ROOT = Path(__file__).resolve().parents[2]


def config_file(stack: Stack, directory: Path) -> Path:
    dyn = stack.config.dynaccount
    path = directory / "files.toml"
    path.write_text(f"""
[server]
port = {free_port()}
[journal]
path = "{directory / 'cli.sqlite3'}"
[woocommerce]
url = "{stack.config.woocommerce.url}"
consumer_key = "{CK}"
consumer_secret = "{CS}"
webhook_secret = "{WEBHOOK_SECRET}"
[dynaccount]
api_id = {dyn.api_id}
api_key = "{dyn.api_key.get_secret_value()}"
api_secret = "{dyn.api_secret.get_secret_value()}"
base_url = "{dyn.base_url}"
[shop]
name = "{stack.config.shop.name}"
[files]
default_mapping = "pos"
""" + (CONTRIB / "mappings.toml").read_text(encoding="utf-8"), encoding="utf-8")
    return path


async def agent_cli(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "agent", *args, cwd=ROOT,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_files_import_command_books_prints_progress_and_books_nothing_twice(
    fstack: tuple[Stack, ManualClock], tmp_path: Path
) -> None:
    s, _ = fstack
    config = config_file(s, tmp_path)
    code, out, err = await agent_cli("files", "import", str(CONTRIB / "orders.csv"), "--config", str(config))
    assert code == 0, (out, err)
    assert "[1/4] file:pos:1001: done" in out and "[4/4] file:pos:1004: done" in out, out
    assert "orders.csv: 4 new; 0 bad row(s); booked: 4 done" in out
    assert invoice(s, "woo/file-pos-1003")["total"] == Decimal("2229.50")
    code, out, _ = await agent_cli("files", "import", str(CONTRIB / "orders.xml"), "--mapping", "market",
                                   "--config", str(config))  # fmt: skip
    assert code == 0 and "2 new" in out, out
    invoices = len(s.dyn.store.tables["debtor_invoice"])
    code, out, _ = await agent_cli("files", "import", str(CONTRIB / "orders.csv"), "--config", str(config))
    assert code == 0 and "the same bytes were imported before as file #1" in out, out
    assert len(s.dyn.store.tables["debtor_invoice"]) == invoices == 6
    # a dry run of a new file shows the plan and writes nothing
    code, out, _ = await agent_cli("files", "import", str(CONTRIB / "creditnotes.csv"), "--mapping", "pos-credit",
                                   "--dry-run", "--config", str(config))  # fmt: skip
    assert code == 0 and "dry run, nothing written" in out and "credit note" in out, out
    assert len(s.dyn.store.tables["debtor_creditnote"]) == 1  # order 1004's negative line only
    code, out, err = await agent_cli("files", "import", str(ROOT / "README.md"), "--config", str(config))
    assert code == 1 and "refused:" in out, (out, err)
