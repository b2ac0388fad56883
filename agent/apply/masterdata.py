"""Debtors and products in Dynaccount: found or created once, then only updated when they change."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from agent.apply.fields import debtor_fields, digest
from agent.dynaccount.client import DynaccountClient
from agent.dynaccount.errors import DynaccountRejected
from agent.dynaccount.models import Debtor, ProductFields
from agent.journal import Journal
from agent.outcomes import ErrorKind, WorkError
from agent.plan import DebtorDecision, ProductSync

# Columns a debtor can be found by in Dynaccount for each match key (equality filter, A-5).
MATCH_COLUMNS = {"email": "email", "vat_number": "vatno", "ean": "ean"}


_CREATE_ATTEMPTS = 5


class MasterData:
    def __init__(self, journal: Journal, dyn: DynaccountClient) -> None:
        self._journal = journal
        self._dyn = dyn
        self._allocation_lock = asyncio.Lock()
        self._debtor_locks: dict[str, asyncio.Lock] = {}
        self._product_locks: dict[str, asyncio.Lock] = {}

    async def ensure_debtor(self, d: DebtorDecision) -> str:
        key = f"{d.kind}:{d.match_key}:{d.match_value}"
        fields = debtor_fields(d, "0")
        link = await self._journal.get_link("customer", key)
        if link and link.dyn_number and link.data.get("digest") == digest(fields.model_dump()):
            return link.dyn_number  # known and unchanged: no call at all
        # Find-or-create is one critical section per match key: two orders of one new customer in
        # parallel make one debtor; other customers only wait for each other while a number is chosen.
        async with self._debtor_locks.setdefault(key, asyncio.Lock()):
            link = await self._journal.get_link("customer", key)
            number = str(d.number) if d.number else (link.dyn_number if link else None)
            number = number or await self._find_debtor(d)
            if number is None:
                async with self._allocation_lock:
                    number = await self._allocate(key, d.allocate_from, d.allocate_to)
                    debtor = await self._create_new(d, key, number)
                    number = str(debtor.module_id_)  # "already exists" moved it on
            else:
                debtor, number = await self._write_debtor(d, key, number)
            await self._journal.put_link("customer", key, state="synced", dyn_id=debtor.id, dyn_number=number,
                                         data={"digest": digest(fields.model_dump())})  # fmt: skip
        return number

    async def _write_debtor(self, d: DebtorDecision, key: str, number: str) -> tuple[Debtor, str]:
        """Upsert the debtor; "already exists" (created by someone else between our look-up and our
        create) means using the row that exists: the customer's own, found by its match key, or, if
        another customer took the number, the next free one."""
        try:
            return await self._dyn.upsert_debtor(debtor_fields(d, number)), number
        except DynaccountRejected as exc:
            if not _already_exists(exc, "module_id_"):
                raise
        own = await self._find_debtor(d)
        if own is not None:
            number = own
        elif not d.number:  # another customer took the number meanwhile: the next free one
            async with self._allocation_lock:
                number = await self._allocate(key, d.allocate_from, d.allocate_to, after=int(number))
        return await self._dyn.upsert_debtor(debtor_fields(d, number)), number

    async def _find_debtor(self, d: DebtorDecision) -> str | None:
        column = MATCH_COLUMNS.get(d.match_key)
        if not column or not d.match_value:
            return None
        rows = await self._dyn.get("debtor", select=("id", "module_id_"), filters={column: d.match_value})
        return str(rows[0]["module_id_"]) if rows else None

    async def _allocate(self, key: str, start: int | None, end: int | None, after: int = 0) -> str:
        """Next free debtor number in this agent's range; written to the journal before the debtor is
        created, so a retry after a crash creates (or finds) the same debtor instead of a second one."""
        start = start or 10000
        # Another shop's agent may share this Dynaccount: the journal's numbers outside our range are
        # theirs (found by match key), and an allocated number not yet created must never be reused.
        highest = await self._journal.highest_debtor_number(start, end)
        number = max(start - 1, highest or 0, after) + 1
        while await self._dyn.find_debtor(str(number)) is not None:
            number += 1
        if end is not None and number > end:
            raise WorkError(f"no free debtor number left in [debtors] range_start..range_end ({start}..{end})",
                            ErrorKind.PERMANENT)  # fmt: skip
        await self._journal.put_link("customer", key, state="allocated", dyn_number=number)
        return str(number)

    async def _create_new(self, d: DebtorDecision, key: str, number: str) -> Debtor:
        """Create the debtor under a freshly allocated number, never overwriting one that appeared
        meanwhile (another shop's agent over the same Dynaccount): "already exists" takes the next."""
        for _ in range(_CREATE_ATTEMPTS):
            if await self._dyn.find_debtor(number) is None:
                try:
                    return await self._dyn.create_debtor(debtor_fields(d, number))
                except DynaccountRejected as exc:
                    if not _already_exists(exc, "module_id_"):
                        raise
            own = await self._find_debtor(d)  # the same customer, created by someone else meanwhile
            if own is not None:
                return await self._dyn.upsert_debtor(debtor_fields(d, own))
            number = await self._allocate(key, d.allocate_from, d.allocate_to, after=int(number))
        raise WorkError(f"debtor number {number} keeps being taken; try again", ErrorKind.TRANSIENT)

    async def ensure_products(self, products: Sequence[ProductSync]) -> None:
        for p in products:
            async with self._product_locks.setdefault(p.sku, asyncio.Lock()):
                await self._ensure_product(p)

    async def _ensure_product(self, p: ProductSync) -> None:
        wanted = digest([p.name, str(p.unit_price)])
        link = await self._journal.get_link("product", p.sku)
        if link and (not p.update or link.data.get("digest") == wanted):
            return
        existing = await self._dyn.find_product(p.sku)
        if existing is None or p.update:
            # The note says which shop created it; a product shared by shops keeps the first one's.
            fields = ProductFields(product_id_=p.sku, name=p.name, price=p.unit_price,
                                   txt=None if existing is not None else (p.note or None))
            try:
                existing = await self._dyn.upsert_product(fields)
            except DynaccountRejected as exc:
                # Created by someone else between our look-up and our create: use (update) that row.
                if not _already_exists(exc, "product_id_"):
                    raise
                existing = await self._dyn.upsert_product(fields) if p.update else await self._dyn.find_product(p.sku)
        if existing is None:  # deleted again in between: the next attempt creates it
            raise WorkError(f"product {p.sku} vanished while it was being created", ErrorKind.TRANSIENT)
        await self._journal.put_link("product", p.sku, state="synced", dyn_id=existing.id, dyn_number=p.sku,
                                     data={"digest": wanted})  # fmt: skip


def _already_exists(exc: DynaccountRejected, column: str) -> bool:
    """Dynaccount refused a create because the unique ``column`` is taken (spec §8: numbers are unique)."""
    return "exist" in exc.field_errors.get(column, "")
