"""Debtors and products in Dynaccount: found or created once, then only updated when they change."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

from agent.apply.fields import debtor_fields, digest
from agent.dynaccount.client import DynaccountClient
from agent.dynaccount.errors import DynaccountNotFound, DynaccountRejected
from agent.dynaccount.models import Debtor, Product, ProductFields
from agent.journal import Journal
from agent.keyedlock import KeyedLock
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
        # Per match key / SKU, dropped once idle: an import of 100,000 orders would otherwise keep one each.
        self._debtor_locks = KeyedLock()
        self._product_locks = KeyedLock()

    def locks_kept(self) -> int:
        """Debtor and product locks still in the tables (only those someone holds or waits for)."""
        return len(self._debtor_locks) + len(self._product_locks)

    async def ensure_debtor(self, d: DebtorDecision) -> str:
        key = f"{d.kind}:{d.match_key}:{d.match_value}"
        wanted = digest(debtor_fields(d, "0").model_dump())
        link = await self._journal.get_link("customer", key)
        if link and link.dyn_number and link.data.get("digest") == wanted:
            return link.dyn_number  # known and unchanged: no call at all
        # Find-or-create is one critical section per match key: two orders of one new customer in
        # parallel make one debtor; other customers only wait for each other while a number is chosen.
        async with self._debtor_locks.hold(key):
            link = await self._journal.get_link("customer", key)
            if link and link.dyn_number and link.data.get("digest") == wanted:
                return link.dyn_number  # the order ahead of this one wrote it
            number = str(d.number) if d.number else (link.dyn_number if link else None)
            # The debtor's internal id, known from the link: an update needs no look-up first.
            debtor_id = int(link.dyn_id) if link and link.dyn_id and link.dyn_number == number else None
            if number is None and (found := await self._find_debtor(d)) is not None:
                debtor_id, number = found
            if number is None:
                number = await self._allocate(key, d.allocate_from, d.allocate_to, probe=False)
                debtor = await self._create_new(d, key, number)
                number = str(debtor.module_id_)  # "already exists" moved it on
            else:
                debtor, number = await self._write_debtor(d, key, number, debtor_id)
            await self._journal.put_link("customer", key, state="synced", dyn_id=debtor.id, dyn_number=number,
                                         data={"digest": wanted})  # fmt: skip
        return number

    async def forget_debtor(self, d: DebtorDecision) -> None:
        """Dynaccount refused the debtor number the journal holds (deleted there): the next
        :meth:`ensure_debtor` writes the debtor again, under the same number."""
        key = f"{d.kind}:{d.match_key}:{d.match_value}"
        link = await self._journal.get_link("customer", key)
        if link is not None:
            await self._journal.put_link("customer", key, state="stale", dyn_number=link.dyn_number)

    async def _write_debtor(self, d: DebtorDecision, key: str, number: str,
                            debtor_id: int | None) -> tuple[Debtor, str]:  # fmt: skip
        """Create (``debtor_id`` None) or update the debtor. An update of a debtor deleted in
        Dynaccount creates it again; "already exists" on a create (the number was taken, by this
        customer or another, since the journal last knew) means using the row that exists: the
        customer's own, found by its match key, or, if another customer took the number, the next free one."""
        fields = debtor_fields(d, number)
        try:
            return await self._dyn.put_debtor(fields, debtor_id), number
        except DynaccountNotFound:
            if debtor_id is None:
                raise
            return await self._write_debtor(d, key, number, None)
        except DynaccountRejected as exc:
            if not _already_exists(exc, "module_id_"):
                raise
        if d.number:  # the customer's own number (customer id numbering, a shared debtor): update that row
            return await self._dyn.upsert_debtor(fields), number
        own = await self._find_debtor(d)
        if own is not None:  # the customer's debtor, made meanwhile (another shop's agent)
            return await self._dyn.put_debtor(debtor_fields(d, own[1]), own[0]), own[1]
        # another customer took the number: the next free one
        number = await self._allocate(key, d.allocate_from, d.allocate_to, after=int(number))
        debtor = await self._create_new(d, key, number)
        return debtor, str(debtor.module_id_)

    async def _find_debtor(self, d: DebtorDecision) -> tuple[int, str] | None:
        """The debtor with this customer's match key, as (internal id, number)."""
        column = MATCH_COLUMNS.get(d.match_key)
        if not column or not d.match_value:
            return None
        rows = await self._dyn.get("debtor", select=("id", "module_id_"), filters={column: d.match_value})
        return (int(rows[0]["id"]), str(rows[0]["module_id_"])) if rows else None

    async def _allocate(self, key: str, start: int | None, end: int | None, after: int = 0, *,
                        probe: bool = True) -> str:  # fmt: skip
        """Next free debtor number in this agent's range; written to the journal before the debtor is
        created, so a retry after a crash creates (or finds) the same debtor instead of a second one.
        Without ``probe`` the number above the journal's highest is not asked about first: a create is
        refused if the number is taken (numbers are unique, so nothing is overwritten), and
        :meth:`_write_debtor` then allocates the next, probing.

        Only choosing and recording the number is serialised: once the journal holds it, the next
        allocation starts above it, so other new customers' debtors are created side by side (issue 17:
        52 new customers waited 8.4 s of a 12 s run for each other's ``put/debtor`` under this lock)."""
        start = start or 10000
        async with self._allocation_lock:
            # Another shop's agent may share this Dynaccount: the journal's numbers outside our range are
            # theirs (found by match key), and an allocated number not yet created must never be reused.
            highest = await self._journal.highest_debtor_number(start, end)
            number = max(start - 1, highest or 0, after) + 1
            while probe and await self._dyn.find_debtor(str(number)) is not None:
                number += 1
            if end is not None and number > end:
                raise WorkError(f"no free debtor number left in [debtors] range_start..range_end ({start}..{end})",
                                ErrorKind.PERMANENT)  # fmt: skip
            await self._journal.put_link("customer", key, state="allocated", dyn_number=number)
        return str(number)

    async def _create_new(self, d: DebtorDecision, key: str, number: str) -> Debtor:
        """Create the debtor under a freshly allocated number. A create never overwrites a number that
        appeared meanwhile (another shop's agent over the same Dynaccount): it is refused ("already
        exists"), and the customer's own debtor is used if it is that, else the next number."""
        for _ in range(_CREATE_ATTEMPTS):
            try:
                return await self._dyn.create_debtor(debtor_fields(d, number))
            except DynaccountRejected as exc:
                if not _already_exists(exc, "module_id_"):
                    raise
            own = await self._find_debtor(d)  # the same customer, created by someone else meanwhile
            if own is not None:
                return await self._dyn.put_debtor(debtor_fields(d, own[1]), own[0])
            number = await self._allocate(key, d.allocate_from, d.allocate_to, after=int(number))
        raise WorkError(f"debtor number {number} keeps being taken; try again", ErrorKind.TRANSIENT)

    async def ensure_products(self, products: Sequence[ProductSync]) -> None:
        for p in products:
            async with self._product_locks.hold(p.sku):
                await self._ensure_product(p)

    async def _ensure_product(self, p: ProductSync) -> None:
        wanted = digest([p.name, str(p.unit_price)])
        link = await self._journal.get_link("product", p.sku)
        if link and link.dyn_id and (not p.update or link.data.get("digest") == wanted):
            return
        # The note says which shop created it: written on creation only, so a product shared by shops keeps
        # the first one's.
        fields = ProductFields(product_id_=p.sku, name=p.name, price=p.unit_price)
        existing: Product | None = None
        if link and link.dyn_id:  # linked and changed: updated by its id, no look-up
            with contextlib.suppress(DynaccountNotFound):  # removed in Dynaccount: made again below
                existing = await self._dyn.put_product(fields, int(link.dyn_id))
        if existing is None:
            found = await self._dyn.find_product(p.sku)
            if found is not None:
                existing = await self._dyn.put_product(fields, found.id) if p.update else found
            else:
                existing = await self._create_product(p, fields.model_copy(update={"txt": p.note or None}))
        if existing is None:  # deleted again in between: the next attempt creates it
            raise WorkError(f"product {p.sku} vanished while it was being created", ErrorKind.TRANSIENT)
        await self._journal.put_link("product", p.sku, state="synced", dyn_id=existing.id, dyn_number=p.sku,
                                     data={"digest": wanted})  # fmt: skip

    async def _create_product(self, p: ProductSync, fields: ProductFields) -> Product | None:
        try:
            return await self._dyn.put_product(fields)
        except DynaccountRejected as exc:
            # Created by someone else between our look-up and our create: use (update) that row.
            if not _already_exists(exc, "product_id_"):
                raise
        return await self._dyn.upsert_product(fields) if p.update else await self._dyn.find_product(p.sku)

    async def forget_products(self, skus: Sequence[str]) -> None:
        """Dynaccount refused these product numbers (removed there): the next sync makes them again."""
        for sku in skus:
            if await self._journal.get_link("product", sku) is not None:
                await self._journal.put_link("product", sku, state="stale", dyn_number=sku)


def _already_exists(exc: DynaccountRejected, column: str) -> bool:
    """Dynaccount refused a create because the unique ``column`` is taken (spec §8: numbers are unique)."""
    return "exist" in exc.field_errors.get(column, "")
