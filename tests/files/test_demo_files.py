"""The demo imports the example files next to the webshop orders, twice, and checks the books against them."""

from __future__ import annotations

from pathlib import Path

from agent.clock import ManualClock
from agent.sandbox.demo import demo_stack, place_orders, verify
from agent.sandbox.demo_files import files_overrides, import_examples, verify_files

from ..e2e.conftest import drive  # type: ignore[import-not-found]


async def test_demo_books_webshop_orders_and_the_example_files(tmp_path: Path) -> None:
    clock = ManualClock()
    async with demo_stack(tmp_path / "demo", delivery_delay=0.0, clock=clock, autostart=False,
                          overrides={"files": files_overrides()}) as stack:  # fmt: skip
        ids = await place_orders(stack, 4)
        await drive(stack, clock)
        lines: list[str] = []
        assert await import_examples(stack, lines.append) == 7  # 6 orders + 1 credited order, once
        await drive(stack, clock)
        assert sum("the same bytes again" in line for line in lines) == 3
        files = await verify_files(stack)
        assert (files.orders, files.matched, files.credits, files.creditnotes) == (6, 6, 2, 2) and files.ok, files
        assert (await verify(stack, ids)).ok
        # the check is not vacuous: an invoice that differs from its file is a mismatch
        row = next(r for r in stack.dyn.store.tables["debtor_invoice"].values() if r["requisition"] == "woo/file-pos-1001")
        row["total_amount"] += 1
        assert not (await verify_files(stack)).ok
