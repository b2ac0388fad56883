"""The stock job: Dynaccount → WooCommerce, only what changed, on an interval, after bookings, on demand.

One run: read every Dynaccount product (paged) → keep those whose ``time_stock_change`` or quantity
moved since the journal's memory (and those that failed last time) → find their SKUs in the shop (one
``GET /products?sku=…`` per 100, products and variations alike) → plan (pure) → mark the echo expected →
batch-write (≤ 100 per endpoint) → record every SKU's outcome. Nothing stops a run but an outside system
being down; a bad SKU is reported and tried again next run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import asdict, dataclass, field, replace

from agent.clock import Clock, iso
from agent.config import StockConfig
from agent.dynaccount.client import DynaccountClient
from agent.dynaccount.errors import DynaccountError
from agent.journal.stock import StockJournal
from agent.stock.diff import SkuResult, WritePlan, changed, plan_writes, shop_quantity
from agent.stock.shop import find_in_shop, read_dynaccount, sold_now
from agent.woo.client import WooClient
from agent.woo.errors import WooError
from agent.woo.stock import StockItemError

log = logging.getLogger(__name__)
GLOBAL_OPTION_OFF = ("WooCommerce's stock management is switched off (WooCommerce → Settings → Products → "
                     "Inventory, woocommerce_manage_stock = no): nothing was written")


@dataclass
class RunSummary:
    started: float
    reason: str
    dry_run: bool = False
    finished: float | None = None
    compared: int = 0  # Dynaccount products read
    changed: int = 0  # of which moved since the last run (or failed last time)
    written: int = 0  # shop items written
    unchanged: int = 0  # changed in Dynaccount but the shop already showed it
    skipped: int = 0
    errors: int = 0
    write_calls: int = 0
    shop_reads: int = 0
    error: str | None = None  # what stopped the run, if anything
    results: list[SkuResult] = field(default_factory=list)

    def public(self) -> dict[str, object]:
        data = asdict(self)
        data.pop("results")
        data["started"] = iso(self.started)
        data["finished"] = iso(self.finished) if self.finished else None
        return data


class StockRoom:
    def __init__(self, stock: StockJournal, woo: WooClient, dyn: DynaccountClient, clock: Clock,
                 config: StockConfig) -> None:  # fmt: skip
        self.journal = stock
        self._woo, self._dyn, self._clock, self.config = woo, dyn, clock, config
        self._lock = asyncio.Lock()  # one run at a time: a button press during a run waits for it
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.next_run: float = clock.now()
        self.next_reason = "start"
        self.last: RunSummary | None = None

    # -- one run ----------------------------------------------------------------------------------

    async def sync(self, *, dry_run: bool = False, full: bool = False, reason: str = "on demand") -> RunSummary:
        async with self._lock:
            summary = RunSummary(self._clock.now(), reason, dry_run)
            try:
                await self._run(summary, full)
            except (WooError, DynaccountError, OSError) as exc:  # an outside system is down: try next run
                summary.error = f"{type(exc).__name__}: {exc}"
                log.warning("stock run failed: %s", summary.error)
            except Exception as exc:  # a bug must not end the loop; the run shows it and the next one retries
                summary.error = f"{type(exc).__name__}: {exc}"
                log.exception("stock run failed")
            summary.finished = self._clock.now()
            if not dry_run:
                self.last = summary
                await self.journal.save_run(summary.public())
            return summary

    async def _run(self, summary: RunSummary, full: bool) -> None:
        levels = await read_dynaccount(self._dyn)
        summary.compared = len(levels)
        sold = await sold_now(self.journal, self._dyn)  # after read_dynaccount: see sold_now
        candidates = changed(levels, await self.journal.memory(), self.config.quantity, full=full, sold=sold)
        summary.changed = len(candidates)
        if not candidates:
            return
        if not await self._stock_managed():
            summary.error = GLOBAL_OPTION_OFF
            return
        view = await find_in_shop(self._woo, [c.sku for c in candidates])
        summary.shop_reads = view.calls
        quantities = {lv.sku: shop_quantity(lv, self.config.quantity) for lv in levels}
        plan = plan_writes(candidates, view.by_sku, quantities, view.families,
                           enable=self.config.enable_stock_management, sold=sold)  # fmt: skip
        results = plan.results if summary.dry_run else await self._write(plan, summary)
        _count(summary, results, plan)
        summary.results = results

    async def _stock_managed(self) -> bool:
        """The global option: when off, WooCommerce skips product stock silently (spec §4.3)."""
        setting = await self._woo.get_setting("products", "woocommerce_manage_stock")
        return bool(setting.value != "no")

    async def _write(self, plan: WritePlan, summary: RunSummary) -> list[SkuResult]:
        owners = [u.id for u in plan.updates]
        await self.journal.expect_echo(plan.results, owners)
        try:
            result = await self._woo.batch_update_stock(plan.updates)
        except BaseException:
            await asyncio.shield(self.journal.drop_echo(owners))
            raise
        summary.write_calls = result.calls
        failed = {e.id: e for e in result.errors}
        await self.journal.drop_echo(failed)
        limit = self._woo.stock.limit
        results = [_failed(r, failed[r.owner_id], limit) if r.owner_id in failed and r.write_qty is not None
                   and r.reason.startswith("written") else r for r in plan.results]  # fmt: skip
        await self.journal.record(results, written=set(owners) - set(failed))
        summary.written = len(set(owners) - set(failed))
        return results

    # -- the loop ---------------------------------------------------------------------------------

    def poke(self, reason: str = "after booking") -> None:
        """A booked invoice or credit note moved stock: run soon, once for many bookings (debounce)."""
        due = self._clock.now() + self.config.after_booking_seconds
        if due < self.next_run:
            self.next_run, self.next_reason = due, reason
            self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="stock")

    async def run_due(self) -> RunSummary | None:
        """One run if one is due now (the loop's step; tests drive it with a manual clock)."""
        now = self._clock.now()
        if now < self.next_run:
            return None
        reason = self.next_reason
        self.next_run, self.next_reason = now + self.config.interval_seconds, "interval"
        return await self.sync(reason=reason)

    async def run(self) -> None:
        while not self._stopping:
            if await self.run_due() is not None:
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):  # re-check at least every minute: the clock may jump
                await asyncio.wait_for(self._wake.wait(), timeout=min(self.next_run - self._clock.now(), 60.0))

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def _failed(result: SkuResult, error: StockItemError, limit: int) -> SkuResult:
    if error.status == 413:
        why = f"WooCommerce refused the batch as too large (413); tried again next run in batches of {limit}"
    else:
        why = f"WooCommerce refused the write: {error.code}: {error.message}"
    return replace(result, state="error", reason=why)


def _count(summary: RunSummary, results: list[SkuResult], plan: WritePlan) -> None:
    summary.errors = sum(r.state == "error" for r in results)
    summary.skipped = sum(r.state == "skipped" for r in results)
    summary.unchanged = sum(r.state == "ok" and r.reason.startswith("unchanged") for r in results)
    if summary.dry_run:
        summary.written = len(plan.updates)  # what would be written
