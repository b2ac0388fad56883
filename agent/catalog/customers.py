"""Shop customers → Dynaccount debtors, found by the same rules as an order's customer (issue 15).

The customer is read as an order with only the customer's data would be (billing, shipping, meta, the shop's
currency), so :func:`agent.plan.debtor.decide_debtor` gives the same kind (B2C/B2B/EAN), match key and
fields as the customer's orders do. An existing debtor is updated only with ``[debtors] update_existing``; a
new one is created only with ``[debtors] create_on_customer_event``. A match on two debtors is held.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from agent.apply.fields import debtor_fields, digest
from agent.apply.masterdata import MATCH_COLUMNS, MasterData
from agent.catalog.products import ItemResult
from agent.catalog.shop import ShopFactsCache, read_customer
from agent.dynaccount.client import DynaccountClient
from agent.journal import Journal, WorkItem
from agent.outcomes import Outcome
from agent.plan.debtor import decide_debtor
from agent.plan.settings import PlanSettings
from agent.plan.types import DebtorDecision
from agent.woo.client import WooClient
from agent.woo.models import Order

# An EU VAT number: two letters, then 2–12 digits/letters (VIES formats); a Danish CVR is 8 digits.
VAT_FORMAT = re.compile(r"^[A-Z]{2}[0-9A-Z]{2,12}$")
DEBTOR_COLUMNS = ("id", "module_id_", "email", "vatno", "ean")


class Debtors:
    """Dynaccount's debtors by a match column: asked one by one, or all read once for a bulk run."""

    def __init__(self, dyn: DynaccountClient) -> None:
        self.dyn = dyn
        self._all: dict[tuple[str, str], set[str]] | None = None  # (column, lower-case value) -> numbers

    async def preload(self) -> None:
        self._all = {}
        for row in await self.dyn.get_all("debtor", select=DEBTOR_COLUMNS):
            self._add(str(row["module_id_"]), row)

    def _add(self, number: str, row: dict[str, Any]) -> None:
        assert self._all is not None
        for column in ("email", "vatno", "ean"):
            if row.get(column):
                self._all.setdefault((column, str(row[column]).lower()), set()).add(number)

    async def matching(self, column: str, value: str) -> list[str]:
        if self._all is not None:
            return sorted(self._all.get((column, value.lower()), set()))
        rows = await self.dyn.get("debtor", select=DEBTOR_COLUMNS, filters={column: value})
        return sorted({str(r["module_id_"]) for r in rows})

    def note(self, number: str, d: DebtorDecision) -> None:
        if self._all is not None:
            self._add(number, {"email": d.email, "vatno": d.vat_number, "ean": d.ean})


def decision(customer: dict[str, Any], settings: PlanSettings, currency: str) -> DebtorDecision:
    order = Order.model_validate({
        "id": 0, "status": "customer", "currency": currency, "customer_id": customer["id"],
        "billing": {**(customer.get("billing") or {}), "email": (customer.get("billing") or {}).get("email")
                    or customer.get("email") or ""},
        "shipping": customer.get("shipping") or {}, "meta_data": customer.get("meta_data") or [],
    })  # fmt: skip
    return decide_debtor(order, settings, None)


class CustomerSync:
    def __init__(self, journal: Journal, woo: WooClient, dyn: DynaccountClient, facts: ShopFactsCache,
                 settings: PlanSettings) -> None:  # fmt: skip
        self._woo, self.dyn, self.facts, self.settings = woo, dyn, facts, settings
        self._journal = journal
        self._master = MasterData(journal, dyn)

    @property
    def enabled(self) -> bool:
        d = self.settings.debtors
        return d.update_existing or d.create_on_customer_event

    async def __call__(self, item: WorkItem) -> Outcome:
        if not self.enabled:
            return Outcome("skipped", "customer events change nothing in Dynaccount ([debtors] update_existing "
                                      "and create_on_customer_event are off): the debtor follows the next order")
        customer = await read_customer(self._woo, int(item.resource_id))
        if customer is None:
            return Outcome("done", "no such customer in the shop (deleted); the debtor is kept")
        r = await self.sync_one(customer, Debtors(self.dyn), dry_run=False)
        return Outcome("held" if r.state == "failed" else "done", f"{r.number or 'customer'}: {r.state}, {r.reason}")

    async def sync_one(self, customer: dict[str, Any], debtors: Debtors, *, dry_run: bool) -> ItemResult:
        cid = int(customer.get("id") or 0)
        if not cid:
            return ItemResult(0, None, "skipped", "a guest has no customer object: nothing to do")
        d = decision(customer, self.settings, (await self.facts.get()).currency)
        if d.vat_number and not VAT_FORMAT.match(d.vat_number):
            return ItemResult(cid, None, "failed", f"the VAT number {d.vat_number!r} is not in a valid format")
        if not (d.email or d.vat_number or d.ean):
            return ItemResult(cid, None, "failed", "the customer has no email, VAT number or EAN to match by")
        found = await self._find(d, debtors)
        if len(found) > 1:
            return ItemResult(cid, None, "failed", f"{d.match_key} {d.match_value} matches debtors "
                                                   f"{', '.join(found)}: which one is unclear")
        return await self._apply(cid, d, found[0] if found else None, debtors, dry_run)

    async def _find(self, d: DebtorDecision, debtors: Debtors) -> list[str]:
        if d.number is not None:
            return [str(d.number)]  # shared, or numbered by customer id: the number itself is the match
        column = MATCH_COLUMNS.get(d.match_key)
        return await debtors.matching(column, d.match_value) if column and d.match_value else []

    async def _apply(self, cid: int, d: DebtorDecision, number: str | None, debtors: Debtors,
                     dry_run: bool) -> ItemResult:  # fmt: skip
        rules = self.settings.debtors
        would = "would be " if dry_run else ""
        if number is None and not rules.create_on_customer_event:
            return ItemResult(cid, None, "skipped", "no debtor yet; created at the customer's first order "
                                                    "([debtors] create_on_customer_event = false)")
        if number is not None and not rules.update_existing:
            return ItemResult(cid, number, "unchanged", "debtor exists; [debtors] update_existing = false")
        if dry_run:
            return ItemResult(cid, number, "created" if number is None else "updated", f"{would}written")
        d = replace(d, number=int(number)) if number is not None else d
        link = await self._journal.get_link("customer", f"{d.kind}:{d.match_key}:{d.match_value}")
        if link and link.dyn_number == number and link.data.get("digest") == digest(debtor_fields(d, "0").model_dump()):
            return ItemResult(cid, number, "unchanged", "Dynaccount already holds it: no call")
        written = await self._master.ensure_debtor(d)  # the orders' own find-or-create, by the same link
        debtors.note(written, d)
        state = "created" if number is None else "updated"
        return ItemResult(cid, written, state, f"debtor {written} {state}")
