"""Dynaccount's VAT codes and their rates (``get/vatcode``, spec §6, A-31), read once and again only
when a plan needs a code the cache does not know (a code created in Dynaccount while running)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from decimal import Decimal

from agent.dynaccount.client import DynaccountClient


class VatCodes:
    def __init__(self, dyn: DynaccountClient) -> None:
        self._dyn = dyn
        self._rates: dict[str, Decimal] | None = None
        self._lock = asyncio.Lock()

    async def rates(self) -> Mapping[str, Decimal]:
        if self._rates is None:
            async with self._lock:  # orders starting together read the codes once, not once each
                if self._rates is None:
                    self._rates = await self._read()
        return self._rates

    async def refresh(self) -> Mapping[str, Decimal]:
        async with self._lock:
            self._rates = await self._read()
        return self._rates

    async def _read(self) -> dict[str, Decimal]:
        # Bounded by the account's own code list (tens of codes), replaced whole on every read.
        return {code.name: code.rate for code in await self._dyn.list_vatcodes()}
