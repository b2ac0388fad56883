"""``dynaccount-agent demo``: run the agent on a generated local configuration."""

from __future__ import annotations

import argparse
import secrets
from pathlib import Path

from aiohttp import web

from agent.config import Config, parse_config

DEMO_DIR = Path("data/demo")


def demo_config(port: int, directory: Path = DEMO_DIR) -> Config:
    return parse_config(
        {
            "server": {"host": "127.0.0.1", "port": port},
            "journal": {"path": str(directory / "agent.sqlite3")},
            "woocommerce": {
                "url": "http://127.0.0.1:8080",
                "consumer_key": "ck_demo",
                "consumer_secret": "cs_demo",
                "webhook_secret": "demo-" + secrets.token_hex(8),
            },
            "dynaccount": {
                "api_id": 12345,
                "api_key": "0123456789abcdef0123456789abcdef01234567",
                "api_secret": "fedcba9876543210fedcba9876543210fedcba98",
                "base_url": "http://127.0.0.1:8081",
            },
        },
        source="demo",
    )


def run_demo(args: argparse.Namespace) -> int:
    from agent.app import create_app

    config = demo_config(args.port)
    print(f"demo: agent on http://127.0.0.1:{args.port}/api/status (Ctrl-C to stop)")
    web.run_app(create_app(config), host=config.server.host, port=config.server.port, print=None)
    return 0
