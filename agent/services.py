"""What the composition root hands to the web edge and the one-off commands: the built services."""

from __future__ import annotations

from dataclasses import dataclass

from agent.apply.refindex import References
from agent.catalog import Catalog
from agent.clock import Clock
from agent.config import Config
from agent.dynaccount.client import DynaccountClient
from agent.files.importer import FileImporter
from agent.health.systems import SystemHealth
from agent.journal import Journal, WorkItem
from agent.orders import OrderProcessor
from agent.outcomes import Outcome
from agent.sweep import Sweep
from agent.woo.client import WooClient
from agent.worker import Processor, Worker


@dataclass
class Services:
    config: Config
    clock: Clock
    journal: Journal
    woo: WooClient
    dyn: DynaccountClient
    orders: OrderProcessor
    worker: Worker
    sweep: Sweep
    health: SystemHealth | None = None  # what the worker's calls found about the outside systems
    dispatcher: Dispatcher | None = None  # the worker's router by work kind; other rooms register theirs
    files: FileImporter | None = None  # orders from CSV/XML files (issue 18)
    catalog: Catalog | None = None  # products and customers synced on their own (issue 15)
    references: References | None = None  # the reference index (agent.apply.refindex); daemon/standalone import


class Dispatcher:
    """Route a work item to the processor for its kind; kinds with nothing to do say why."""

    NOTHING_TO_DO = {
        "product": "product changes need no accounting (Dynaccount is the stock master)",
        "variation": "product changes need no accounting (Dynaccount is the stock master)",
        "customer": "customer details are sent with the customer's next invoice",
        "subscription": "subscriptions are invoiced through their renewal orders",
    }

    def __init__(self, processors: dict[str, Processor]) -> None:
        self._processors = processors

    def register(self, kind: str, processor: Processor) -> None:
        """Another room takes a kind of work (the stock room: ``product``/``variation``)."""
        self._processors[kind] = processor

    def chain(self, kind: str, processor: Processor) -> None:
        """Run ``processor`` before the kind's present one (stock's check before the catalog's product sync:
        it compares the shop's stock with Dynaccount's and must do so at once, not after the sync's calls).
        The item ends held if either holds, and its reason says both."""
        later = self._processors.get(kind)
        if later is None:
            self._processors[kind] = processor
            return

        async def both(item: WorkItem) -> Outcome:
            a, b = await processor(item), await later(item)
            state = "held" if "held" in (a.state, b.state) else a.state
            return Outcome(state, "; ".join(r for r in (a.reason, b.reason) if r))

        self._processors[kind] = both

    async def __call__(self, item: WorkItem) -> Outcome:
        processor = self._processors.get(item.kind)
        if processor is not None:
            return await processor(item)
        return Outcome("skipped", self.NOTHING_TO_DO.get(item.kind, f"nothing is done for {item.kind} items"))
