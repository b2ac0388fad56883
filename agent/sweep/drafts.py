"""Drafts watch: a draft invoice is booked by a human in Dynaccount, which sends no signal. Each pass
asks Dynaccount about the drafts the journal knows and re-queues an order only when its invoice's
booked state changed, so refunds waiting for the booking are credited once it happened."""

from __future__ import annotations

from agent.dynaccount import assumptions as A
from agent.dynaccount.client import DynaccountClient
from agent.dynaccount.errors import DynaccountNotFound
from agent.dynaccount.models import parse_flag
from agent.journal import CHANGED, Journal
from agent.journal.files import FileJournal
from agent.sweep.jobs import JobStatus


class DraftsWatch:
    name = "drafts_watch"
    system = "dynaccount"

    def __init__(self, journal: Journal, dyn: DynaccountClient) -> None:
        self._journal = journal
        self._dyn = dyn
        self.status = JobStatus()

    async def run(self) -> int:
        count = 0
        drafts = [(link, f"order:{link.woo_id}") for link in await self._journal.draft_invoices()]
        drafts += await FileJournal(self._journal.db).draft_work()  # orders from files: their own namespace
        for link, key in drafts:
            if not link.dyn_id:
                continue
            try:
                # the header's booked flag only: one call per draft and pass, lines are not needed
                rows = await self._dyn.get(A.INVOICE_TABLE, int(link.dyn_id), select=("id", "is_booked"))
            except DynaccountNotFound:
                continue  # deleted by a human: nothing was booked, and the next order change says so
            if rows and parse_flag(rows[0].get("is_booked")):
                await self._journal.hint_work(key, fingerprint=CHANGED)  # a human booked it
                count += 1
        return count
