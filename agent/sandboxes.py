"""``dynaccount-agent sandbox …``: start one of the built-in stand-ins."""

from __future__ import annotations

import argparse
import sys


def run_sandbox(args: argparse.Namespace) -> int:
    print(f"the {args.which} sandbox is not wired into the CLI yet", file=sys.stderr)
    return 2
