"""The reference index: which of this shop's invoice and credit-note references exist in Dynaccount (issue 17).

Before the first create of a document without a link the applier looks it up by its reference, so an
attempt whose answer was lost, or a journal that was lost, books nothing twice. For a new order that
look-up finds nothing, and it is one call in eight. The index answers it without a call:

* it reads the shop's existing invoices and credit notes once, paged (``select=id,requisition``, one
  list call per page), keeping only the order/refund ids their references carry (a set of ints);
* it adds every reference this process is about to create, before the create call is sent;
* a reference whose id is not in the **complete** index, that carries this shop's name and for which
  the journal has no intent, cannot exist in Dynaccount, so the look-up is skipped.

Why that is safe (A-44, ours: one agent per ``[shop] name``): a ``<shop>/order-N`` reference is only ever
written by this shop's agent, and only by the process that owns the journal's lock (``agent.journal.owner``; the
index is loaded only after this process took it, and it is held for the daemon's whole life or a standalone
``import``'s whole run, ``agent.operations``). Everything an earlier process wrote was in Dynaccount before this
one started, so the load reads it; everything this process creates is added before the call goes out. An earlier
attempt whose answer was lost left an intent in the journal (written before every create), so its reference
always gets the real look-up, as does every reference while the index is still loading or failed to load, one
that is in the index (a draft may have been deleted meanwhile: not found, created again), and one without this
shop's name (an older format). What breaks if two agents run with the same ``[shop] name`` over one Dynaccount
company: each would skip the look-up for orders the other made after its load, so an order both saw could be
invoiced twice — which is why the shop name is per shop (issue 19) and is A-44 in the README.

Paging is by ``limit=offset,count`` over ``order=id`` (A-7: equality filters only, no ranges). New rows
get higher ids and only move later rows, so they never make a page skip one; a row deleted meanwhile
before the current offset would, so consecutive pages overlap and each page must start at or before the
last id already read — else the load steps back a page (a few times at most, then it counts as failed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable, Mapping

from agent.dynaccount.client import DynaccountClient
from agent.plan import references

log = logging.getLogger(__name__)

PAGE_SIZE = 1000  # rows of two short columns: ~50 kB a page
OVERLAP = 50  # rows read twice between pages: this many deletions during one page's gap are tolerated
MAX_STEP_BACKS = 5  # more deletions than that while loading: the load fails (real look-ups), retried later
RETRY_SECONDS = (5.0, 30.0, 120.0, 600.0)  # a failed load is tried again after these, then every last one


class LoadFailed(RuntimeError):
    """The pages could not be read as one consistent walk (rows deleted faster than they were read)."""


class ReferenceIndex:
    """The ids the references of one document table carry (``debtor_invoice`` or ``debtor_creditnote``)."""

    def __init__(self, dyn: DynaccountClient, table: str, shop: str, read: Callable[[str], int | None]) -> None:
        self._dyn, self._table, self._shop, self._read = dyn, table, shop, read
        self._ids: set[int] = set()
        self.complete = False
        self.calls = 0  # list calls of the last load (one per page, plus a step back now and then)

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, reference: str) -> None:
        """A reference this process is about to create (called before the create call)."""
        value = self._read(reference)
        if value is not None:
            self._ids.add(value)

    def needs_lookup(self, reference: str, intents: Iterable[str] = ()) -> bool:
        """False only when the document cannot exist in Dynaccount (see the module's docstring)."""
        if not self.complete or not references.own(self._shop, reference):
            return True
        if any(key.partition(":")[2] == reference for key in intents):
            return True  # an earlier attempt may have made it and lost the answer
        value = self._read(reference)
        return value is None or value in self._ids

    async def load(self) -> None:
        """Read the table's references, paged; the index is complete once every page was read."""
        self.calls = 0
        found: set[int] = set()
        offset, last, step_backs = 0, -1, 0
        while True:
            rows = await self._dyn.get(self._table, select=("id", "requisition"), order="id",
                                       limit=(offset, PAGE_SIZE))  # fmt: skip
            self.calls += 1
            if offset > 0 and (not rows or int(rows[0]["id"]) > last):
                step_backs += 1  # rows before `offset` were deleted meanwhile: this page may have skipped some
                if step_backs > MAX_STEP_BACKS:
                    raise LoadFailed(f"{self._table}: rows deleted faster than they were read")
                offset = max(0, offset - PAGE_SIZE)
                continue
            found.update(v for v in map(self._value, rows) if v is not None)
            if len(rows) < PAGE_SIZE:
                break
            last, offset = int(rows[-1]["id"]), offset + PAGE_SIZE - OVERLAP
        self._ids |= found  # what add() put in meanwhile stays
        self.complete = True

    def _value(self, row: Mapping[str, object]) -> int | None:
        requisition = row.get("requisition")
        return self._read(requisition) if isinstance(requisition, str) and requisition else None


class References:
    """The invoice and credit-note indexes of this shop, loaded in the background (never delaying start-up)."""

    def __init__(self, dyn: DynaccountClient, shop: str, invoice_format: str, refund_format: str) -> None:
        self._args = (dyn, shop, invoice_format, refund_format)
        self.invoices = ReferenceIndex(dyn, "debtor_invoice", shop, references.reader(
            shop, invoice_format, references.LEGACY_INVOICE))  # fmt: skip
        self.creditnotes = ReferenceIndex(dyn, "debtor_creditnote", shop, references.reader(
            shop, refund_format, references.LEGACY_CREDITNOTE))  # fmt: skip
        self._task: asyncio.Task[None] | None = None
        self.last_error: str | None = None

    def renewed(self) -> References:
        """An empty index of the same shop: what a restarted process begins with."""
        return References(*self._args)

    @property
    def complete(self) -> bool:
        return self.invoices.complete and self.creditnotes.complete

    async def load(self) -> None:
        for index in (self.invoices, self.creditnotes):
            if not index.complete:
                await index.load()
        log.info("reference index complete: %d invoice and %d credit-note references (%d list calls)",
                 len(self.invoices), len(self.creditnotes), self.invoices.calls + self.creditnotes.calls)  # fmt: skip

    def start(self) -> None:
        """Load in the background; until it is complete every document gets the real look-up."""
        if self._task is None:
            self._task = asyncio.create_task(self._keep_loading(), name="reference index")

    async def wait(self) -> None:
        """Until the background load ended (the bench measures from a complete index)."""
        if self._task is not None:
            await asyncio.wait({self._task})

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _keep_loading(self) -> None:
        for attempt in range(10_000):
            try:
                await self.load()
                self.last_error = None
                return
            except Exception as exc:  # a failed load only costs look-ups; never the agent
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("reference index not loaded (look-ups by reference until it is): %s", self.last_error)
            await asyncio.sleep(RETRY_SECONDS[min(attempt, len(RETRY_SECONDS) - 1)])
