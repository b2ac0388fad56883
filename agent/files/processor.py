"""Work for ``file:<source>:<number>``: the order and its credits are loaded from the journal (where the
import stored them) instead of WooCommerce, then planned and applied by the same order run.

References are the source's own after the shop (``<shop>/file-<source>-<number>``, credit notes
``<shop>/file-<source>-credit-<id>``, built by :mod:`agent.plan.references`)
and the order's facts live in the ``file:`` namespace of links and intents, so a file order never
meets a WooCommerce order of the same id, and importing it again finds what was booked.
"""

from __future__ import annotations

from decimal import Decimal

from agent.apply import Applier
from agent.apply.vatcodes import VatCodes
from agent.files.build import Credit, Line, LineError
from agent.files.credit import refund_for
from agent.journal import Journal, OrderFacts, WorkItem
from agent.journal.files import NAMESPACE, FileJournal, StoredOrder
from agent.orders import OrderProcessor
from agent.outcomes import Outcome
from agent.plan import InvoicePlan, PlanSettings, Skip
from agent.woo.client import WooClient
from agent.woo.models import Order, Refund


def file_settings(settings: PlanSettings, source: str) -> PlanSettings:
    """The planner's settings with this source's references and texts (the rest is the shop's own)."""
    invoice = settings.invoice.model_copy(
        update={"reference": f"file-{source}-{{number}}", "text": f"Order {{number}} ({source})"}
    )
    refunds = settings.refunds.model_copy(
        update={"reference": f"file-{source}-credit-{{id}}", "text": f"Credit note for order {{number}} ({source})"}
    )
    return settings.model_copy(update={"invoice": invoice, "refunds": refunds})


def credit_from_json(key: str, lines: list[dict[str, str]]) -> tuple[Credit, bool, str | None]:
    parsed = tuple(Line(int(d["row"]), d["sku"], d["name"], Decimal(d["qty"]), Decimal(d["price"]), Decimal(d["rate"]),
                        Decimal(d["discount"])) for d in lines)  # fmt: skip
    first = lines[0] if lines else {}
    return Credit(key, parsed), first.get("incl", "1") == "1", first.get("date") or None


def credit_to_json(credit: Credit, incl: bool, date: str | None) -> list[dict[str, str]]:
    return [{"row": str(ln.row), "sku": ln.sku, "name": ln.name, "qty": str(ln.qty), "price": str(ln.price),
             "rate": str(ln.rate), "discount": str(ln.discount), "incl": "1" if incl else "0", "date": date or ""}
            for ln in credit.lines]  # fmt: skip


def loaded(stored: StoredOrder) -> tuple[Order, list[Refund]]:
    """The stored order with its journal id, and its credits as refunds (ids from the journal)."""
    order = Order.model_validate({**stored.body, "id": stored.id,
                                  "refunds": [{"id": c.id} for c in stored.credits]})  # fmt: skip
    refunds = []
    for c in stored.credits:
        credit, incl, date = credit_from_json(c.key, c.lines)
        refunds.append(refund_for(order, credit, c.id, incl, date))
    return order, refunds


class FileOrderProcessor:
    def __init__(self, journal: Journal, woo: WooClient, applier: Applier, settings: PlanSettings,
                 vat_codes: VatCodes | None = None) -> None:  # fmt: skip
        self._journal = journal
        self.files = FileJournal(journal.db)
        self._woo, self._applier, self._settings, self._codes = woo, applier, settings, vat_codes
        self._runs: dict[str, OrderProcessor] = {}

    def runner(self, source: str) -> OrderProcessor:
        if source not in self._runs:
            self._runs[source] = OrderProcessor(self._journal, self._woo, self._applier,
                                                file_settings(self._settings, source), self._codes)  # fmt: skip
        return self._runs[source]

    async def facts(self, order_id: int) -> OrderFacts:
        return await self._journal.order_facts(order_id, namespace=NAMESPACE)

    async def plan(self, source: str, order: Order) -> InvoicePlan | Skip:
        return await self.runner(source).plan_checked(order, [], await self.facts(order.id))

    async def __call__(self, item: WorkItem) -> Outcome:
        source, _, number = item.resource_id.partition(":")
        stored = await self.files.order(source, number)
        if stored is None:
            return Outcome("skipped", f"no order {number} from a {source} file is in the journal")
        try:
            order, refunds = loaded(stored)
        except LineError as exc:
            return Outcome("held", f"line {exc.line}: {exc}")
        return await self.runner(source).run(item.key, order, refunds, await self.facts(stored.id))
