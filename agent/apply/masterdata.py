"""Debtors and products in Dynaccount: found or created once, then only updated when they change."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from agent.apply.fields import debtor_fields, digest
from agent.dynaccount.client import DynaccountClient
from agent.dynaccount.models import ProductFields
from agent.journal import Journal
from agent.plan import DebtorDecision, ProductSync

# Columns a debtor can be found by in Dynaccount for each match key (equality filter, A-5).
MATCH_COLUMNS = {"email": "email", "vat_number": "vatno", "ean": "ean"}


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
        # One customer, one number, even for two orders of the same customer in parallel; other
        # customers only wait for each other while a new number is allocated.
        async with self._debtor_locks.setdefault(key, asyncio.Lock()):
            link = await self._journal.get_link("customer", key)
            number = str(d.number) if d.number else (link.dyn_number if link else None)
            number = number or await self._find_debtor(d)
            if number is None:
                async with self._allocation_lock:
                    number = await self._allocate(key, d.allocate_from)
            # Still under the customer's lock: a second order of the same customer (e.g. two without an
            # e-mail) must see the debtor created, not create it again under the same number.
            debtor = await self._dyn.upsert_debtor(debtor_fields(d, number))
            await self._journal.put_link("customer", key, state="synced", dyn_id=debtor.id, dyn_number=number,
                                         data={"digest": digest(fields.model_dump())})  # fmt: skip
        return number

    async def _find_debtor(self, d: DebtorDecision) -> str | None:
        column = MATCH_COLUMNS.get(d.match_key)
        if not column or not d.match_value:
            return None
        rows = await self._dyn.get("debtor", select=("id", "module_id_"), filters={column: d.match_value})
        return str(rows[0]["module_id_"]) if rows else None

    async def _allocate(self, key: str, start: int | None) -> str:
        """Next free debtor number; written to the journal before the debtor is created, so a retry
        after a crash creates (or finds) the same debtor instead of a second one."""
        highest = await self._journal.highest_debtor_number()
        number = max((start or 10000) - 1, highest or 0) + 1
        while await self._dyn.find_debtor(str(number)) is not None:
            number += 1
        await self._journal.put_link("customer", key, state="allocated", dyn_number=number)
        return str(number)

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
            existing = await self._dyn.upsert_product(ProductFields(product_id_=p.sku, name=p.name, price=p.unit_price))
        await self._journal.put_link("product", p.sku, state="synced", dyn_id=existing.id, dyn_number=p.sku,
                                     data={"digest": wanted})  # fmt: skip
