"""Command line: ``dynaccount-agent COMMAND`` (also ``python -m agent``)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, TypeVar

from agent.config import Config, ConfigError, load_config, permission_warnings, resolve_path
from agent.dynaccount.errors import DynaccountError
from agent.ids import order_id_arg
from agent.woo.errors import WooError

if TYPE_CHECKING:
    from agent.services import Services

T = TypeVar("T")
Handler = Callable[[argparse.Namespace], int]
Command = Callable[["Services", bool], Awaitable[T]]  # (services, a daemon owns the journal) -> output


def _load(args: argparse.Namespace) -> Config:
    return load_config(resolve_path(args.config))


def cmd_check(args: argparse.Namespace) -> int:
    path = resolve_path(args.config)
    config = load_config(path)
    from agent.mail.commands import problems as mail_problems

    for warning in permission_warnings(path):
        print(f"warning: {warning}", file=sys.stderr)
    if found := mail_problems(config):
        print(f"{path}: mail is not ready\n" + "\n".join(f"  {p}" for p in found), file=sys.stderr)
        return 2
    print(f"{path}: OK (journal {config.journal.path}, listening on {config.server.host}:{config.server.port})")
    if args.online:
        from agent.preflight import online_check

        findings = asyncio.run(run_command(config, lambda services, _: online_check(services)))
        if findings:
            print(f"{path}: not ready online\n" + "\n".join(f"  {f}" for f in findings), file=sys.stderr)
            return 3
        print(f"online: WooCommerce at {config.woocommerce.url} and Dynaccount answer; everything configured exists")
    if getattr(args, "dynaccount", False):
        found = asyncio.run(_vat_code_problems(config))
        for line in found:
            print(f"VAT code problem: {line}")
        print(f"VAT codes: {'OK' if not found else f'{len(found)} problem(s)'}")
        return 1 if found else 0
    return 0


async def _vat_code_problems(config: Config) -> list[str]:
    from agent.app import open_agent
    from agent.operations import check_vat_codes

    async with open_agent(config) as services:
        return await check_vat_codes(services)


def cmd_run(args: argparse.Namespace) -> int:
    from agent.daemon import serve
    from agent.journal.owner import ownership

    path = resolve_path(args.config)
    config = load_config(path)
    for warning in permission_warnings(path):
        logging.getLogger("agent").warning("%s", warning)
    # A clean refusal up front; the daemon's own hold on the lock (agent.app) is what guarantees it.
    with ownership(config.journal.path) as free:
        pass
    if not free:
        print(f"not started: another process runs the worker over {config.journal.path} (a second agent, or a"
              " replay/import in progress)", file=sys.stderr)  # fmt: skip
        return 2
    asyncio.run(serve(config))  # READY=1 once the journal is open and the listener bound (systemd notify)
    return 0


async def run_command(config: Config, command: Command[T]) -> T:
    """Build the agent's parts exactly as the daemon does and run one command over them."""
    from agent.app import open_command

    async with open_command(config) as (services, daemon_running):
        return await command(services, daemon_running)


def _print(args: argparse.Namespace, command: Command[str]) -> int:
    print(asyncio.run(run_command(_load(args), command)))
    return 0


def cmd_plan(args: argparse.Namespace) -> int:
    from agent.operations import show_plan

    return _print(args, lambda s, _: show_plan(s, args.order_id))


def cmd_replay(args: argparse.Namespace) -> int:
    from agent.operations import replay

    return _print(args, lambda s, running: replay(s, args.order_id, daemon_running=running))


def cmd_import(args: argparse.Namespace) -> int:
    from agent.operations import import_orders, parse_day

    since, until = parse_day(args.since), parse_day(args.until) if args.until else None
    return _print(args, lambda s, running: import_orders(s, since, until, args.dry_run, daemon_running=running))


def cmd_webhooks(args: argparse.Namespace) -> int:
    from agent.operations import webhooks

    return _print(args, lambda s, _: webhooks(s, args.heal))


def cmd_reconcile(args: argparse.Namespace) -> int:
    """Exit 0 only when shop and books agree (1: differences, listed)."""
    from agent.operations import oss, parse_day, reconcile
    from agent.reconcile import oss as oss_format
    from agent.reconcile.render import to_dict, to_text

    config = _load(args)
    if args.oss:
        report = asyncio.run(run_command(config, lambda s, _: oss(s, args.oss)))
        render = {"table": oss_format.to_table, "csv": oss_format.to_csv, "json": oss_format.to_json}[args.format]
        print(render(report), end="" if args.format == "csv" else "\n")
        return 0
    if not (args.start and args.end):
        raise SystemExit("reconcile: give --from and --to (or --oss QUARTER)")
    start, last = parse_day(args.start).date(), parse_day(args.end).date()
    result = asyncio.run(run_command(config, lambda s, _: reconcile(s, start, last + timedelta(days=1))))
    print(json.dumps(to_dict(result), indent=2) if args.format == "json" else to_text(result))
    return 0 if result.ok else 1


def cmd_held(args: argparse.Namespace) -> int:
    from agent.operations import held

    return _print(args, lambda s, _: held(s))


def cmd_decide(args: argparse.Namespace) -> int:
    from agent.approvals import ApprovalError
    from agent.operations import decide

    reason, mappings = getattr(args, "reason", ""), getattr(args, "map", None)
    try:
        return _print(args, lambda s, running: decide(s, args.command, args.order_id, args.by, daemon_running=running,
                                                      reason=reason, mappings=mappings))  # fmt: skip
    except ApprovalError as exc:
        print(f"{args.command}: {exc}", file=sys.stderr)
        return 1


def cmd_stock(args: argparse.Namespace) -> int:
    from agent.operations import stock_sync

    return _print(args, lambda s, running: stock_sync(s, dry_run=args.dry_run, full=args.full,
                                                      daemon_running=running))


def cmd_sync(args: argparse.Namespace) -> int:
    from agent.operations import catalog_sync

    return _print(args, lambda s, _: catalog_sync(s, args.kind, dry_run=args.dry_run))


def cmd_mail(args: argparse.Namespace) -> int:
    from agent.mail.commands import preview_order, send_test
    from agent.mail.preview import NothingToPreview
    from agent.mail.render import TemplateError

    config = _load(args)
    if args.verb == "preview":
        try:
            print(asyncio.run(preview_order(config, args.order_id)))
        except (NothingToPreview, TemplateError) as exc:
            print(f"mail preview: {exc}", file=sys.stderr)
            return 1
        return 0
    ok, lines = asyncio.run(send_test(config, args.to))
    print("\n".join(lines))
    return 0 if ok else 3


def cmd_files(args: argparse.Namespace) -> int:
    from pathlib import Path

    from agent.files.commands import import_path

    async def command(s: Services, running: bool) -> str:
        assert s.files is not None
        code, summary = await import_path(s.files, s.journal, s.worker.run_once, Path(args.path), args.mapping,
                                          dry_run=args.dry_run, daemon_running=running)  # fmt: skip
        exit_code.append(code)
        return summary

    exit_code: list[int] = []
    print(asyncio.run(run_command(_load(args), command)))
    return exit_code[0] if exit_code else 1


def cmd_demo(args: argparse.Namespace) -> int:
    from agent.sandbox.demo import run_demo

    return run_demo(args)


def cmd_sandbox(args: argparse.Namespace) -> int:
    if args.which == "dynaccount":
        from agent.sandbox.dynaccount.server import main as dynaccount_sandbox

        return dynaccount_sandbox(args.options)
    from agent.sandbox.woo import main as woo_sandbox

    return woo_sandbox(args.options)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dynaccount-agent", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, handler: Handler, help_text: str, config: bool = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        if config:
            p.add_argument("--config", help="config file (default: $DYNACCOUNT_AGENT_CONFIG, then ./config.toml)")
        p.set_defaults(handler=handler)
        return p

    add("run", cmd_run, "run the agent (webhook intake, worker, status page)")
    check = add("check", cmd_check, "validate the configuration and exit")
    check.add_argument("--online", action="store_true",
                       help="also call WooCommerce and Dynaccount once each: keys, permissions, webhooks, codes")
    check.add_argument("--dynaccount", action="store_true",
                       help="also compare every mapped VAT code with Dynaccount's codes and rates")  # fmt: skip
    plan = add("plan", cmd_plan, "show what the agent would do with an order (dry run: writes nothing)")
    plan.add_argument("order_id", type=order_id_arg)
    replay = add("replay", cmd_replay, "process one order again now (queued if the agent is running)")
    replay.add_argument("order_id", type=order_id_arg)
    imp = add("import", cmd_import, "import historic orders created since a day")
    imp.add_argument("--since", required=True, help="YYYY-MM-DD (UTC)")
    imp.add_argument("--until", help="YYYY-MM-DD (UTC), exclusive")
    imp.add_argument("--dry-run", action="store_true", help="show the plans, write nothing")
    hooks = add("webhooks", cmd_webhooks, "list the shop's webhooks; --heal creates/re-activates the agent's")
    hooks.add_argument("--heal", action="store_true")
    rec = add("reconcile", cmd_reconcile, "compare the shop with the books for a period, or print the OSS figures")
    rec.add_argument("--from", dest="start", help="first day, YYYY-MM-DD ([server] timezone)")
    rec.add_argument("--to", dest="end", help="last day, YYYY-MM-DD ([server] timezone), included")
    rec.add_argument("--oss", metavar="QUARTER", help="EU One-Stop-Shop figures of a quarter, e.g. 2026Q3")
    rec.add_argument("--format", choices=["table", "csv", "json"], default="table", help="output (csv: --oss only)")
    add("held", cmd_held, "list the items held for a human: why, and what would be booked")
    for name, text in (("approve", "book a held order's invoice as planned"),
                       ("dismiss", "mark a held order done without booking (with a reason)"),
                       ("replan", "edit a VAT mapping and plan a held order again")):  # fmt: skip
        decision = add(name, cmd_decide, text)
        decision.add_argument("order_id", type=int)
        decision.add_argument("--by", default=getpass.getuser(), help="who decides (default: your user name)")
    sub.choices["dismiss"].add_argument("--reason", required=True, help="why it is not booked")
    sub.choices["replan"].add_argument("--map", action="append", required=True,
                                       help="RATE_ID=CODE or CC:PERCENT=CODE, e.g. DE:7=OSS-DE-7 (repeatable)")


    stock = add("stock", cmd_stock, "stock from Dynaccount into the shop: 'stock sync' runs once now")
    stock.add_argument("action", choices=["sync"])
    stock.add_argument("--dry-run", action="store_true", help="show what would be written, write nothing")
    stock.add_argument("--full", action="store_true", help="compare every SKU, not only those Dynaccount changed")
    sync = add("sync", cmd_sync, "walk the whole shop catalogue or customer list into Dynaccount (resumable)")
    sync.add_argument("kind", choices=["products", "customers"])
    sync.add_argument("--dry-run", action="store_true", help="show what would be written, write nothing")
    files = sub.add_parser("files", help="orders from CSV or XML files").add_subparsers(dest="verb", required=True)
    fimp = files.add_parser("import", help="import a CSV/XML file of orders: invoices and credit notes, once")
    fimp.add_argument("path", help="the CSV or XML file")
    fimp.add_argument("--mapping", help="[files.mappings.NAME] to read it with (default: files.default_mapping)")
    fimp.add_argument("--dry-run", action="store_true", help="show the plans and the bad rows, write nothing")
    fimp.add_argument("--config", help="config file (default: $DYNACCOUNT_AGENT_CONFIG, then ./config.toml)")
    fimp.set_defaults(handler=cmd_files)
    from agent.mail.commands import add_parser as add_mail_parser

    add_mail_parser(sub, cmd_mail)
    demo = add("demo", cmd_demo, "run the agent against the built-in sandboxes", config=False)
    demo.add_argument("--orders", type=int, default=None, help="number of orders to place")
    demo.add_argument("--exit", action="store_true", help="exit when the orders are done (0 = all as expected)")
    demo.add_argument("--port", type=int, default=8787, help="agent port (status page)")
    sandbox = add("sandbox", cmd_sandbox, "run one of the built-in sandboxes", config=False)
    sandbox.add_argument("which", choices=["dynaccount", "woocommerce"])
    sandbox.add_argument("options", nargs=argparse.REMAINDER, help="the sandbox's own options (--help for a list)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.handler(args))
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except WooError as exc:
        print(f"WooCommerce: {exc}", file=sys.stderr)
        return 3
    except DynaccountError as exc:
        print(f"Dynaccount: {exc}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
