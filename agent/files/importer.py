"""One file import: refuse or read the file, build its orders, report bad rows by line, and (unless a dry
run) store the file with its orders and credits in the journal before anything is planned."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from agent.config_files import FileMapping, FilesConfig
from agent.files.build import FileOrder, LineError, OrderBuilder
from agent.files.credit import refund_for
from agent.files.processor import FileOrderProcessor, credit_to_json
from agent.files.read import Refused, RowError, read_file
from agent.journal.files import NewFile, NewOrder, StoredFile, work_key
from agent.plan import PlanSettings, Skip
from agent.plan.render import render_plan
from agent.woo.models import Order


@dataclass
class ImportReport:
    name: str
    size: int
    mapping: str
    source: str
    dry_run: bool
    errors: list[RowError] = field(default_factory=list)
    orders: dict[str, str] = field(default_factory=dict)  # order number → what happens to it
    plans: list[str] = field(default_factory=list)  # dry run: the plans as text
    duplicate_of: StoredFile | None = None
    keys: list[str] = field(default_factory=list)  # work items to process

    def summary(self) -> str:
        counted: dict[str, int] = {}
        for what in self.orders.values():
            counted[what] = counted.get(what, 0) + 1
        parts = [f"{n} {w}" for w, n in sorted(counted.items())] or ["no orders"]
        head = "dry run, nothing written: " if self.dry_run else ""
        return f"{self.name}: {head}{', '.join(parts)}; {len(self.errors)} bad row(s)"

    def lines(self) -> list[str]:
        out = []
        if self.duplicate_of is not None:
            out.append(f"{self.name}: the same bytes were imported before as file #{self.duplicate_of.id} "
                       f"({self.duplicate_of.name}); nothing new")  # fmt: skip
        out += [f"line {e.line}: {'order ' + e.order_number + ': ' if e.order_number else ''}{e.reason}"
                for e in sorted(self.errors, key=lambda e: e.line)]  # fmt: skip
        out += [f"order {number}: {what}" for number, what in self.orders.items()]
        return [*out, *self.plans, self.summary()]

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "size": self.size, "mapping": self.mapping, "dry_run": self.dry_run,
                "orders": self.orders, "duplicate_of": self.duplicate_of.id if self.duplicate_of else None,
                "errors": [{"line": e.line, "order": e.order_number, "reason": e.reason} for e in self.errors],
                "summary": self.summary()}  # fmt: skip


class FileImporter:
    def __init__(self, config: FilesConfig, settings: PlanSettings, processor: FileOrderProcessor) -> None:
        self.config = config
        self._settings = settings
        self.processor = processor

    async def run(self, data: bytes, name: str, mapping_name: str | None, *, dry_run: bool) -> ImportReport:
        """Raises Refused for a file that is refused as a whole."""
        try:
            mapping_name, mapping = self.config.mapping(mapping_name)
        except ValueError as exc:
            raise Refused(str(exc)) from None
        report = ImportReport(name, len(data), mapping_name, mapping.source, dry_run)
        sha = hashlib.sha256(data).hexdigest()
        if (seen := await self.processor.files.find_file(sha)) is not None:
            report.duplicate_of = seen
        read = read_file(data, name, mapping, self.config.max_bytes)
        built = OrderBuilder(mapping, self._settings).build(read.rows)
        report.errors = read.errors + built.errors
        new_orders = []
        for fo in built.orders:
            new = await self._checked(fo, mapping, report)
            if new is not None:
                new_orders.append(new)
                report.orders[fo.number] = "to book" if fo.order is not None else "to credit"
        if dry_run:
            await self._plans(new_orders, mapping, report)
            return report
        recorded = await self.processor.files.record(NewFile(sha, name, len(data), mapping_name, data), new_orders)
        for number in report.orders:
            report.orders[number] = recorded.changed.get(number, "nothing new (imported before)")
        report.keys = [work_key(mapping.source, n) for n in recorded.changed]
        await self.processor.files.save_summary(recorded.file.id, report.as_json())
        return report

    async def _checked(self, fo: FileOrder, mapping: FileMapping, report: ImportReport) -> NewOrder | None:
        """The order ready to record, or None with its credits' errors reported."""
        order = fo.order
        if order is None:
            stored = await self.processor.files.order(mapping.source, fo.number)
            if stored is None:
                report.errors.append(RowError(fo.first_line, "no earlier file imported this order, so there is "
                                                             "no invoice to credit", fo.number))  # fmt: skip
                return None
            order = Order.model_validate({**stored.body, "id": stored.id})
        credits = {}
        for credit in fo.credits:
            try:
                refund_for(order, credit, 0, mapping.prices_include_vat, None)
            except LineError as exc:
                report.errors.append(RowError(exc.line, str(exc), fo.number))
                return None
            credits[credit.key] = credit_to_json(credit, mapping.prices_include_vat, order.date_created_gmt)
        body = fo.order.model_dump(mode="json") if fo.order is not None else None
        return NewOrder(mapping.source, fo.number, body, credits)

    async def _plans(self, orders: list[NewOrder], mapping: FileMapping, report: ImportReport) -> None:
        for new in orders:
            if new.body is None:
                report.plans.append(f"order {new.number}: {len(new.credits)} credit note(s) against its invoice")
                continue
            stored = await self.processor.files.order(mapping.source, new.number)
            order = Order.model_validate({**new.body, "id": stored.id if stored else 0})
            plan = await self.processor.plan(mapping.source, order)
            text = f"  {plan.reason}" if isinstance(plan, Skip) else render_plan(plan)
            report.plans.append(f"order {new.number}:\n{text}")
