"""The demo's file import, next to the webshop orders: the example files of ``contrib/files/`` (a CSV with
semicolons and decimal commas, a namespaced XML, a credit-note file) imported twice, and the books checked
against the files' own totals."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.journal.files import FileJournal

if TYPE_CHECKING:
    from agent.sandbox.demo import Stack

CONTRIB_FILES = Path(__file__).resolve().parents[2] / "contrib" / "files"
IMPORTS = (("orders.csv", "pos"), ("orders.xml", "market"), ("creditnotes.csv", "pos-credit"))


def files_overrides() -> dict[str, Any]:
    """The ``[files]`` table of the demo: the example mappings (none when run outside the repository)."""
    mappings = CONTRIB_FILES / "mappings.toml"
    if not mappings.exists():
        return {}
    return {"mappings": tomllib.loads(mappings.read_text(encoding="utf-8"))["files"]["mappings"]}


@dataclass
class FilesVerdict:
    orders: int = 0
    matched: int = 0
    creditnotes: int = 0
    credits: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and self.matched == self.orders and self.creditnotes == self.credits


async def import_examples(stack: Stack, report: Any = print) -> int:
    """Import each example file twice (the second time books nothing); returns the orders queued."""
    importer = stack.services.files
    if importer is None or not importer.config.mappings:
        return 0
    queued = 0
    for _ in range(2):
        for name, mapping in IMPORTS:
            result = await importer.run((CONTRIB_FILES / name).read_bytes(), name, mapping, dry_run=False)
            queued += len(result.keys)
            report(f"demo: {result.summary()}" + (" (the same bytes again)" if result.duplicate_of else ""))
        stack.services.worker.wake()
    return queued


async def verify_files(stack: Stack) -> FilesVerdict:
    """Each file order has one invoice equal to the file's total, and each credit one credit note."""
    store, journal = stack.dyn.store, stack.services.journal
    invoices: dict[str, list[dict[str, Any]]] = {}
    for row in store.tables["debtor_invoice"].values():
        invoices.setdefault(str(row.get("requisition")), []).append(row)
    notes = [str(r.get("requisition")) for r in store.tables["debtor_creditnote"].values()]
    verdict = FilesVerdict()
    for row in await journal.db.read("SELECT * FROM file_orders"):
        stored = await FileJournal(journal.db).order(row["source"], row["number"])
        assert stored is not None
        verdict.orders += 1
        shop = stack.config.shop.name
        found = invoices.get(f"{shop}/file-{stored.source}-{stored.number}", [])
        total = Decimal(str(stored.body["total"]))
        if len(found) != 1:
            verdict.problems.append(f"file order {stored.number}: {len(found)} invoices")
        elif Decimal(str(found[0]["total_amount"])) != total:
            verdict.problems.append(f"file order {stored.number}: invoice {found[0]['total_amount']} vs file {total}")
        else:
            verdict.matched += 1
        for credit in stored.credits:
            verdict.credits += 1
            count = notes.count(f"{shop}/file-{stored.source}-credit-{credit.id}")
            verdict.creditnotes += count == 1
            if count != 1:
                verdict.problems.append(f"file order {stored.number}: {count} credit notes for credit {credit.key}")
    return verdict


def print_files(v: FilesVerdict) -> None:
    print(f"file orders:         {v.orders}, invoices equal to the files' totals {v.matched}")
    print(f"file credit notes:   {v.creditnotes} for {v.credits} credits")
    for line in v.problems:
        print(f"MISMATCH {line}")
