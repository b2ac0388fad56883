"""Both sandboxes and the agent, with the example file mappings of contrib/files/ in its config."""

from __future__ import annotations

import tomllib
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from agent.clock import ManualClock
from agent.sandbox.demo import Stack, demo_stack

CONTRIB = Path(__file__).resolve().parents[2] / "contrib" / "files"


def files_table(max_bytes: int = 1_000_000) -> dict[str, Any]:
    mappings = tomllib.loads((CONTRIB / "mappings.toml").read_text(encoding="utf-8"))["files"]["mappings"]
    return {"max_bytes": max_bytes, "default_mapping": "pos", "mappings": mappings}


@pytest.fixture
async def fstack(tmp_path: Path) -> AsyncIterator[tuple[Stack, ManualClock]]:
    clock = ManualClock()
    async with demo_stack(tmp_path / "stack", delivery_delay=0.0, clock=clock, autostart=False,
                          overrides={"files": files_table()}) as s:  # fmt: skip
        yield s, clock


def invoice(stack: Stack, reference: str) -> dict[str, Any]:
    store = stack.dyn.store
    rows = [r for r in store.tables["debtor_invoice"].values() if r.get("requisition") == reference]
    assert len(rows) == 1, f"{len(rows)} invoices with reference {reference}"
    lines = store.where("debtor_invoice_product", "invoice_id", rows[0]["id"])
    vat: dict[str, Decimal] = {}
    for line in lines:
        vat[line["vatcode_name"]] = vat.get(line["vatcode_name"], Decimal(0)) + line["vat_amount"]
    return {"total": rows[0]["total_amount"], "vat": rows[0]["vat_amount"], "by_code": vat, "id": rows[0]["id"],
            "booked": rows[0].get("is_booked"), "lines": lines}


def creditnotes(stack: Stack, invoice_id: int) -> list[Decimal]:
    return [r["total_amount"] for r in stack.dyn.store.tables["debtor_creditnote"].values()
            if r.get("invoice_id") == invoice_id]


def counts(stack: Stack) -> tuple[int, int, int]:
    t = stack.dyn.store.tables
    return len(t["debtor_invoice"]), len(t["debtor_creditnote"]), len(t["debtor"])
