"""Issue 17 (idle RSS ≤ 60 MB): what a started daemon has loaded before anyone asks it anything.

Jinja (about 2 MB) is loaded only when a page or a mail is first rendered: an idle agent without mail
never needs it. Run in a fresh interpreter, since this test process has loaded everything already.

The client libraries' pydantic models (``agent.woo``, ``agent.dynaccount``) are built
(``defer_build``) at their first validation, not at import: building their schemas cost about 40 ms of
the start's CPU, and an idle daemon validates none of them.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = """
import asyncio, sys
from aiohttp import web
from agent.app import create_app
from agent.config import parse_config

async def main() -> None:
    config = parse_config({
        "journal": {"path": sys.argv[1]},
        "woocommerce": {"url": "http://127.0.0.1:9", "consumer_key": "ck", "consumer_secret": "cs",
                        "webhook_secret": "s" * 32},
        "dynaccount": {"api_id": 1, "api_key": "k", "api_secret": "s", "base_url": "http://127.0.0.1:9"},
    })
    runner = web.AppRunner(create_app(config, autostart=False))
    await runner.setup()  # the journal open, the services and the mail room built, as in the daemon
    idle = "jinja2" in sys.modules
    built = sorted(name for module in ("agent.woo.models", "agent.woo.resources", "agent.dynaccount.models")
                   for name, model in vars(sys.modules[module]).items()
                   if getattr(model, "__pydantic_complete__", False) and model.__module__ == module)
    await runner.cleanup()
    print("idle-jinja2", idle)
    print("built-models", ",".join(built) or "none")

asyncio.run(main())
"""


def test_an_idle_daemon_without_mail_has_not_loaded_jinja(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "j.sqlite3")], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "idle-jinja2 False" in out.stdout, out.stdout + out.stderr


def test_an_idle_daemon_has_built_no_client_model_schema(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "j.sqlite3")], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "built-models none" in out.stdout, out.stdout + out.stderr


def test_a_deferred_model_validates_at_first_use() -> None:
    from agent.woo.models import Order

    order = Order.model_validate({"id": 7, "status": "processing", "total": "428.80"})
    assert (order.id, order.status, str(order.total)) == (7, "processing", "428.80")
    assert Order.__pydantic_complete__
