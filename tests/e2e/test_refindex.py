"""The reference index (agent/apply/refindex.py, A-44): the look-up by reference is skipped only when no
document of ours can carry the reference; every other case makes the real look-up. Real HTTP against
the sandboxes; counts, not time."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from agent.app import JOURNAL
from agent.apply import refindex
from agent.apply.refindex import References
from agent.dynaccount import assumptions as A
from agent.sandbox.demo import Stack, place_orders

from .conftest import booked_and_credited, drive  # type: ignore[import-not-found]
from .test_calls_per_order import card_order  # type: ignore[import-not-found]


def _rows(stack: Stack, table: str) -> list[dict[str, Any]]:
    return list(stack.dyn.store.tables[table].values())


def _requisitions(stack: Stack, table: str) -> Counter[str]:
    return Counter(str(r["requisition"]) for r in _rows(stack, table))


async def _restarted_index(stack: Stack) -> References:
    """A restarted process's index: empty, then read from Dynaccount alone."""
    current = stack.services.references
    assert current is not None
    fresh = current.renewed()
    await fresh.load()
    stack.services.orders.applier.references = stack.services.references = fresh
    return fresh


async def _lose_journal(stack: Stack, order_ids: list[int]) -> None:
    journal = stack.app[JOURNAL]
    async with journal.db.transaction() as conn:  # links and intents gone, as with a lost journal
        await conn.execute("DELETE FROM links")
        await conn.execute("DELETE FROM intents")
    for order_id in order_ids:
        await journal.requeue(f"order:{order_id}")


async def test_a_wiped_journal_restarted_over_booked_orders_books_nothing_twice(make_stack: Callable[..., Any]) -> None:
    clock, ctx = make_stack()
    async with ctx as s:
        ids = await booked_and_credited(s, clock)
        invoices, notes = _requisitions(s, A.INVOICE_TABLE), _requisitions(s, A.CREDITNOTE_TABLE)
        assert len(invoices) == 6 and len(notes) == 2 and set(invoices.values()) == {1}
        await _lose_journal(s, ids)
        index = await _restarted_index(s)  # built from Dynaccount only
        assert len(index.invoices) == 6 and len(index.creditnotes) == 2 and index.invoices.calls == 1
        before = Counter(s.dyn.calls)
        await drive(s, clock)
        assert _requisitions(s, A.INVOICE_TABLE) == invoices and _requisitions(s, A.CREDITNOTE_TABLE) == notes
        calls = Counter(s.dyn.calls) - before
        assert calls["put/debtor_invoice"] == 0 and calls["put/debtor_creditnote"] == 0, calls
        assert calls["get/debtor_invoice"] >= 6  # each order's invoice was looked up: its id is in the index


async def test_an_intent_means_the_real_look_up_even_when_the_index_has_no_such_reference(
    make_stack: Callable[..., Any],
) -> None:
    """The lost-answer case: the invoice was made, its answer lost. The index swapped in was read before the
    create (as if the document landed after the page was read); the journal's intent still forces the
    look-up, so the invoice is found, not made twice."""
    clock, ctx = make_stack()
    async with ctx as s:
        stale = s.services.references.renewed()  # type: ignore[union-attr]
        await stale.load()
        s.dyn.faults.force("commit_then_fail", times=1, method="put", name=A.INVOICE_TABLE)
        order = await s.shop.create_order(card_order("lost@example.dk"))
        await s.woo.wait_idle()
        await s.services.worker.run_once()  # the create is applied, its answer lost
        reference = f"woo/order-{order.id}"
        assert _requisitions(s, A.INVOICE_TABLE) == Counter({reference: 1})
        s.services.orders.applier.references = stale
        assert stale.complete and not stale.invoices.needs_lookup(reference)  # no intent given: it would skip
        before = Counter(s.dyn.calls)
        await drive(s, clock)
        # the header found (its lines never made) is completed in place: still one invoice of the order
        assert (Counter(s.dyn.calls) - before)["get/debtor_invoice"] >= 1
        assert _requisitions(s, A.INVOICE_TABLE) == Counter({reference: 1})
        [invoice] = _rows(s, A.INVOICE_TABLE)
        assert invoice["is_booked"]


async def test_a_failed_load_leaves_the_index_incomplete_and_the_look_ups_real(make_stack: Callable[..., Any]) -> None:
    clock, ctx = make_stack(load_references=False)
    async with ctx as s:
        references = s.services.references
        assert references is not None
        s.dyn.faults.force("5xx", times=1, method="get", name=A.INVOICE_TABLE)
        with pytest.raises(Exception, match="503"):
            await references.load()
        assert not references.complete
        before = Counter(s.dyn.calls)
        await s.shop.create_order(card_order("one@example.dk"))
        await drive(s, clock)
        assert (Counter(s.dyn.calls) - before)["get/debtor_invoice"] == 2  # the look-up and the verification read


async def test_a_draft_in_the_index_deleted_in_dynaccount_is_created_again_once(make_stack: Callable[..., Any]) -> None:
    clock, ctx = make_stack(invoice={"mode": "draft"})
    async with ctx as s:
        order = await s.shop.create_order(card_order("draft@example.dk"))
        await drive(s, clock)
        reference = f"woo/order-{order.id}"
        [draft] = _rows(s, A.INVOICE_TABLE)
        assert draft["requisition"] == reference and not draft["is_booked"]
        for line in [r for r in _rows(s, A.INVOICE_LINE_TABLE) if r["invoice_id"] == draft["id"]]:
            await s.services.dyn.delete(A.INVOICE_LINE_TABLE, int(line["id"]))
        await s.services.dyn.delete(A.INVOICE_TABLE, int(draft["id"]))  # a human deleted the draft
        await _lose_journal(s, [order.id])
        references = s.services.references
        assert references is not None and references.invoices.needs_lookup(reference)  # in the index
        before = Counter(s.dyn.calls)
        await drive(s, clock)
        calls = Counter(s.dyn.calls) - before
        assert calls["put/debtor_invoice"] == 1 and calls["get/debtor_invoice"] >= 1, calls
        assert _requisitions(s, A.INVOICE_TABLE) == Counter({reference: 1})


async def test_rows_deleted_while_the_pages_are_read_are_never_skipped(
    make_stack: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Paging is by offset (A-7): a row deleted before the offset moves the rest one place up. Pages overlap
    and each must start at or before the last id read, else the load steps back."""
    monkeypatch.setattr(refindex, "PAGE_SIZE", 4)
    monkeypatch.setattr(refindex, "OVERLAP", 1)
    clock, ctx = make_stack(invoice={"mode": "draft"}, load_references=False)
    async with ctx as s:
        ids = await place_orders(s, 12)
        await drive(s, clock)
        drafts = sorted(_rows(s, A.INVOICE_TABLE), key=lambda r: int(r["id"]))
        assert len(drafts) == 12 and not any(d["is_booked"] for d in drafts)
        dyn, original = s.services.dyn, s.services.dyn.get
        doomed = drafts[:3]  # deleted once, right after the first page was read

        async def get(table: str, *args: Any, **kwargs: Any) -> Any:
            page = await original(table, *args, **kwargs)
            if table == A.INVOICE_TABLE and kwargs.get("limit") == (0, 4) and doomed:  # after the first page
                for draft in doomed:
                    for line in [r for r in _rows(s, A.INVOICE_LINE_TABLE) if r["invoice_id"] == draft["id"]]:
                        await original.__self__.delete(A.INVOICE_LINE_TABLE, int(line["id"]))  # type: ignore[attr-defined]
                    await original.__self__.delete(A.INVOICE_TABLE, int(draft["id"]))  # type: ignore[attr-defined]
                doomed.clear()
            return page

        dyn.get = get  # type: ignore[method-assign]
        index = s.services.references
        assert index is not None
        await index.invoices.load()
        dyn.get = original  # type: ignore[method-assign]
        for draft in drafts[3:]:
            assert index.invoices.needs_lookup(str(draft["requisition"])), draft["requisition"]
        assert index.invoices.complete and index.invoices.calls > len(drafts) // 3  # it stepped back
        assert not index.invoices.needs_lookup(f"woo/order-{max(ids) + 1000}")


async def test_the_daemon_is_ready_before_the_index_is_loaded_and_loads_it_in_the_background(tmp_path: Any) -> None:
    """Readiness never waits for the index: with its first page slowed (a forced fault, not a sleep) the agent
    answers /healthz and the index is still incomplete; it completes in the background task."""
    import aiohttp

    from agent.sandbox.demo import demo_stack
    from agent.sandbox.dynaccount.faults import FaultConfig

    faults = FaultConfig(slow_ms=1500)
    async with demo_stack(tmp_path, faults=faults, delivery_delay=0.0, autostart=True,
                          overrides={"sweep": {"enabled": False}}) as s:  # fmt: skip
        references = s.services.references
        assert references is not None
        # the slow page is forced once the stack is up: the load started at start-up may already be past it,
        # so a second index (what a restart begins with) is loaded the daemon's way, in the background
        s.dyn.faults.force("slow", times=1, method="get", name=A.INVOICE_TABLE)
        fresh = references.renewed()
        fresh.start()
        async with aiohttp.ClientSession() as http, http.get(f"{s.agent_url}/healthz") as resp:
            assert resp.status == 200
        assert not fresh.complete and fresh.invoices.needs_lookup("woo/order-1")
        await fresh.wait()
        await references.wait()
        assert fresh.complete and references.complete
        assert not fresh.invoices.needs_lookup("woo/order-1")
        await fresh.stop()
