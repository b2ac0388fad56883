"""A standalone import (no daemon: it holds the journal's lock itself) loads the reference index once, so a new
order skips the look-up by reference as the daemon's do (issue 17, A-44); counted by method in the sandbox's log."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from agent.__main__ import run_command
from agent.clock import ManualClock
from agent.config import Config
from agent.operations import import_orders
from agent.sandbox.demo import Stack

from .test_calls_per_order import NEW_CUSTOMER, card_order  # type: ignore[import-not-found]

ORDERS = 5
ONE_TIME = Counter({"get/vatcode": 1, "get/draft": 1, "get/product": 1})  # cached from the first order on
INDEX = Counter({"get/debtor_invoice": 1, "get/debtor_creditnote": 1})  # one list call per page (one page each)
DOCUMENTS = ("debtor", "debtor_invoice", "debtor_invoice_product", "enclosure", "accounting", "debtor_creditnote")


def _standalone(stack: Stack, name: str) -> Config:
    """The stack's settings over a journal of their own, which no daemon owns: the import holds its lock."""
    path = stack.config.journal.path.with_name(f"{name}.sqlite3")
    return stack.config.model_copy(update={"journal": stack.config.journal.model_copy(update={"path": path})})


def _books(stack: Stack) -> dict[str, int]:
    return {t: len(stack.dyn.store.tables[t]) for t in DOCUMENTS}


async def _import(stack: Stack, config: Config, since: datetime) -> tuple[str, Counter[str]]:
    before = Counter(stack.dyn.calls)
    text = await run_command(config, lambda a, running: import_orders(a, since, None, False, daemon_running=running))
    return text, Counter(stack.dyn.calls) - before


def _wipe(path: Path) -> None:
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        name.unlink(missing_ok=True)


async def test_standalone_import_skips_the_look_up_by_reference_and_books_nothing_twice(
    stack: tuple[Stack, ManualClock],
) -> None:
    s, _ = stack
    s.woo.hold()
    s.woo.drop_next(1000)  # the webhooks never arrive: only the import finds these orders
    for n in range(ORDERS):
        await s.shop.create_order(card_order(f"kunde{n}@example.dk"))
    since = datetime.now(UTC) - timedelta(days=1)
    config = _standalone(s, "import")
    text, calls = await _import(s, config, since)
    assert f"{ORDERS} orders imported: {ORDERS} done" in text, text
    # Per order only the verification read of debtor_invoice (NEW_CUSTOMER); the index adds one page per table.
    expected = Counter({k: v * ORDERS for k, v in NEW_CUSTOMER.items()}) + ONE_TIME + INDEX
    assert calls == expected, calls
    books = _books(s)
    # The journal lost: the index now holds every reference, so each order gets the real look-up and finds its
    # booked invoice; no document is made again.
    _wipe(config.journal.path)
    text, again = await _import(s, config, since)
    assert f"{ORDERS} orders imported: {ORDERS} done" in text, text
    assert _books(s) == books
    assert again["get/debtor_invoice"] >= ORDERS + INDEX["get/debtor_invoice"], again  # looked up, not skipped
    # The only write: the debtor found by its match key is updated (the journal no longer knows its details).
    assert {k for k in again if k.partition("/")[0] in ("put", "insert_bulk", "action")} == {"put/debtor"}, again
