"""``dynaccount-agent sync products|customers [--dry-run]``: the whole catalogue or customer list, paged.

The shop's list is read page by page and walked in ascending id order; Dynaccount's products or debtors are
read once (paged) so each item costs no lookup call. A cursor (the last shop id done, and the counts so far)
is saved in the journal every ``SAVE_EVERY`` items and when the run is interrupted, so a run stopped by Ctrl-C
or a crash carries on after that id; an item done again after a crash is compared before it is written, so
nothing is written twice.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, TextIO

from agent.catalog.customers import CustomerSync, Debtors
from agent.catalog.products import DynProducts, ItemResult, ProductSync
from agent.journal import Journal
from agent.woo.client import WooClient

Kind = Literal["products", "customers"]
SAVE_EVERY = 50
STATES = ("created", "updated", "unchanged", "skipped", "failed")


@dataclass
class Summary:
    kind: str
    total: int = 0  # shop items (products: parents and simple products) in the walk
    cursor: int = 0  # the last shop id done
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATES, 0))
    failures: list[str] = field(default_factory=list)
    resumed_from: int = 0
    dry_run: bool = False
    writes: int = 0

    def add(self, r: ItemResult) -> None:
        self.counts[r.state] = self.counts.get(r.state, 0) + 1
        if r.state == "failed":
            self.failures.append(f"{r.number or 'shop item ' + str(r.shop_id)}: {r.reason}")

    def text(self) -> str:
        head = ", ".join(f"{k} {v}" for k, v in self.counts.items())
        lines = [f"sync {self.kind}{' (dry run)' if self.dry_run else ''}: {head}"]
        if self.resumed_from:
            lines.append(f"resumed after shop id {self.resumed_from}")
        lines += [f"  failed: {f}" for f in self.failures]
        return "\n".join(lines)


class Progress:
    """A tqdm bar on a terminal, plain lines otherwise (journald and CI keep one line per step)."""

    def __init__(self, kind: str, total: int, start: int, stream: TextIO | None = None) -> None:
        self._out = stream or sys.stderr
        self._bar: Any = None
        self._done, self._total, self._kind, self._last = start, total, kind, time.monotonic()
        if self._out.isatty():
            from tqdm import tqdm

            self._bar = tqdm(total=total, initial=start, unit=kind[:-1], desc=f"sync {kind}", file=self._out)
        else:
            print(f"sync {kind}: {total} in the shop" + (f", {start} done before" if start else ""),
                  file=self._out, flush=True)  # fmt: skip

    def step(self) -> None:
        self._done += 1
        if self._bar is not None:
            self._bar.update(1)
            return
        if self._done == self._total or self._done % max(1, self._total // 10) == 0:
            print(f"sync {self._kind}: {self._done}/{self._total}", file=self._out, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


class BulkSync:
    def __init__(self, journal: Journal, woo: WooClient, products: ProductSync, customers: CustomerSync) -> None:
        self._journal, self._woo, self._products, self._customers = journal, woo, products, customers
        self.on_item: Callable[[int], None] | None = None  # called after each shop item (tests interrupt here)

    async def run(self, kind: Kind, *, dry_run: bool = False, stream: TextIO | None = None) -> Summary:
        items = sorted([i async for i in self._woo.pages(kind) if isinstance(i, dict)], key=lambda i: int(i["id"]))
        summary = await self._resume(kind, len(items), dry_run)
        todo = [i for i in items if int(i["id"]) > summary.cursor]
        progress = Progress(kind, len(items), len(items) - len(todo), stream)
        step = await self._stepper(kind, dry_run)
        try:
            for n, item in enumerate(todo, 1):
                for r in await step(item):
                    summary.add(r)
                summary.cursor = int(item["id"])
                progress.step()
                if self.on_item is not None:
                    self.on_item(summary.cursor)
                if n % SAVE_EVERY == 0:
                    await self._save(summary)
            summary.writes = getattr(step, "writes", lambda: 0)()
        finally:
            progress.close()
            await asyncio.shield(self._save(summary))
        if not dry_run:
            await self._journal.set_value(f"catalog.sync.{kind}", "")  # finished: the next run starts afresh
        return summary

    async def _stepper(self, kind: Kind, dry_run: bool) -> Any:
        if kind == "products":
            dyn, seen = DynProducts(self._products.dyn), dict[str, int]()
            await dyn.preload()

            async def product(item: dict[str, Any]) -> list[ItemResult]:
                return await self._products.sync_family(item, dyn, dry_run=dry_run, check_duplicates=False, seen=seen)

            product.writes = lambda: dyn.writes  # type: ignore[attr-defined]
            return product
        debtors = Debtors(self._customers.dyn)
        await debtors.preload()

        async def customer(item: dict[str, Any]) -> list[ItemResult]:
            return [await self._customers.sync_one(item, debtors, dry_run=dry_run)]

        return customer

    async def _resume(self, kind: Kind, total: int, dry_run: bool) -> Summary:
        raw = None if dry_run else await self._journal.get_value(f"catalog.sync.{kind}")
        if raw:
            data = json.loads(raw)
            s = Summary(kind, total, data["cursor"], data["counts"], data["failures"], data["cursor"])
            return s
        return Summary(kind, total, dry_run=dry_run)

    async def _save(self, summary: Summary) -> None:
        if summary.dry_run:
            return
        data = {k: v for k, v in asdict(summary).items() if k in ("cursor", "counts", "failures")}
        await self._journal.set_value(f"catalog.sync.{summary.kind}", json.dumps(data))
