"""The approval queue: items held for a human, what would be booked and why, and the three answers.

* **approve** — book the held invoice exactly as planned. The decision pins the plan's digest; the
  worker books only while the order still plans to the same invoice, so an approval never carries
  over to an order that changed after the human looked at it.
* **re-plan** — edit a VAT mapping (a WooCommerce rate id, or country and percent → a Dynaccount VAT
  code), which wins over the config file from then on, and plan the item again.
* **dismiss** — done without booking, with a reason; it stands for the order as it was when dismissed
  (a later change to the order is planned again).

Every decision is recorded with who and when, and lands in the item's timeline.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from agent.journal import Journal
from agent.journal.decisions import Decision, DecisionJournal
from agent.plan import InvoicePlan, PlanSettings
from agent.plan.payment import invoice_payment
from agent.woo.models import Order

OVERRIDE_TABLES = ("by_rate_id", "by_country_rate")
_VOLATILE = ("update_draft",)  # differs between the run that held and the run that books, same invoice


class ApprovalError(Exception):
    """The decision cannot be taken (wrong state, nothing to book, bad mapping); ``str()`` is for the user."""


def plan_digest(plan: Mapping[str, Any]) -> str:
    stable = {k: v for k, v in json.loads(json.dumps(plan, default=str)).items() if k not in _VOLATILE}
    return hashlib.sha256(json.dumps(stable, sort_keys=True).encode()).hexdigest()[:16]


def order_digest(order: Mapping[str, Any]) -> str:
    """The order's content as loaded; its modification time has second resolution, two edits in a second share it."""
    stable = {k: v for k, v in order.items() if not k.startswith("date_modified")}
    return hashlib.sha256(json.dumps(stable, sort_keys=True, default=str).encode()).hexdigest()[:16]


def approvable(plan: Mapping[str, Any] | None) -> bool:
    """A held invoice plan can be booked as it is; a plan the planner refused has nothing to book."""
    return bool(plan) and plan.get("type") == "invoice" and bool(plan.get("held"))  # type: ignore[union-attr]


def parse_mapping(text: str) -> tuple[str, str]:
    """``7=OSS-DE-7`` (rate id) or ``DE:7=OSS-DE-7`` (country:percent) → (override key, VAT code)."""
    key, sep, code = text.partition("=")
    key, code = key.strip(), code.strip()
    if not sep or not key or not code:
        raise ApprovalError(f"a mapping looks like RATE_ID=CODE or CC:PERCENT=CODE, not {text!r}")
    if key.isdigit():
        return f"by_rate_id:{key}", code
    country, colon, percent = key.partition(":")
    if colon and len(country) == 2 and country.isalpha() and percent.replace(".", "", 1).isdigit():
        return f"by_country_rate:{country.upper()}:{percent}", code
    raise ApprovalError(f"a mapping looks like RATE_ID=CODE or CC:PERCENT=CODE, not {text!r}")


@dataclass(frozen=True)
class HeldItem:
    key: str
    reason: str
    since: float
    plan: dict[str, Any] | None
    approvable: bool


@dataclass(frozen=True)
class ApprovalContext:
    latest: Decision | None
    settings: PlanSettings

    def dismissed(self, order: Order) -> Decision | None:
        """The dismissal that still stands for this version of the order, if any."""
        d = self.latest
        if d is None or d.action != "dismiss":
            return None
        return d if d.data.get("order") == order_digest(order.model_dump(mode="json")) else None

    def approved(self, plan: InvoicePlan) -> Decision | None:
        """The approval of exactly this plan, if any."""
        d = self.latest
        if d is None or d.action != "approve":
            return None
        return d if d.data.get("digest") == plan_digest(plan.to_dict()) else None


class Approvals:
    def __init__(self, journal: Journal, wake: Callable[[], None] | None = None) -> None:
        self._journal = journal
        self._decisions = DecisionJournal(journal)
        self.wake = wake

    # -- the queue --------------------------------------------------------------------------------

    async def held(self, limit: int = 200) -> list[HeldItem]:
        out = []
        for item in await self._journal.list_work(states=("held",), limit=limit):
            snapshot = await self._journal.latest_snapshot(item.key)
            plan = snapshot[1] if snapshot and isinstance(snapshot[1], dict) else None
            out.append(HeldItem(item.key, item.reason or item.error or "", item.updated_at, plan, approvable(plan)))
        return out

    async def _held_plan(self, key: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        item = await self._journal.get_work(key)
        if item is None:
            raise ApprovalError(f"no work item {key}")
        if item.state != "held":
            raise ApprovalError(f"{key} is {item.state}, not held")
        snapshot = await self._journal.latest_snapshot(key)
        if snapshot is None:
            return None, None
        resource, plan = snapshot
        return (resource if isinstance(resource, dict) else None), (plan if isinstance(plan, dict) else None)

    async def _decide(self, key: str, action: str, by: str, message: str, *, reason: str | None = None,
                      data: dict[str, Any] | None = None) -> Decision:  # fmt: skip
        decision = await self._decisions.record(key, action, by, reason=reason, data=data)
        await self._journal.add_event(key, message, data={"decision": action, "by": by, **(data or {})})
        await self._journal.requeue(key)
        if self.wake is not None:
            self.wake()
        return decision

    async def approve(self, key: str, by: str) -> Decision:
        _, plan = await self._held_plan(key)
        if not approvable(plan):
            raise ApprovalError(f"{key}: nothing to book as planned (the planner refused it); "
                                "edit the mapping and re-plan, or dismiss it")  # fmt: skip
        assert plan is not None
        data = {"digest": plan_digest(plan), "total": plan.get("totals", {}).get("total")}
        return await self._decide(key, "approve", by, f"approved by {by}: book invoice as planned", data=data)

    async def dismiss(self, key: str, by: str, reason: str) -> Decision:
        if not reason.strip():
            raise ApprovalError("say why the item is dismissed")
        resource, _ = await self._held_plan(key)
        return await self._decide(key, "dismiss", by, f"dismissed by {by}: {reason}", reason=reason,
                                  data={"order": order_digest(resource or {})})  # fmt: skip

    async def replan(self, key: str, by: str, mappings: list[str]) -> Decision:
        await self._held_plan(key)
        parsed = [parse_mapping(m) for m in mappings]
        for override, code in parsed:
            await self._decisions.set_override(override, code, by)
        what = ", ".join(f"{k.split(':', 1)[1]} → {c}" for k, c in parsed) or "no mapping changed"
        return await self._decide(key, "replan", by, f"re-plan requested by {by} ({what})",
                                  data={"mappings": dict(parsed)})  # fmt: skip

    # -- what the order processor asks ------------------------------------------------------------

    async def context(self, key: str, base: PlanSettings) -> ApprovalContext:
        """Everything an order run needs to know of decisions, in one read: the item's latest decision and
        the planner's settings with the mappings edited from the page or the CLI on top."""
        latest, overrides = await self._decisions.latest_and_overrides(key)
        if not overrides:
            return ApprovalContext(latest, base)
        tables: dict[str, dict[str, str]] = {t: dict(getattr(base.vat, t)) for t in OVERRIDE_TABLES}
        for o in overrides:
            table, _, mapping_key = o.key.partition(":")
            if table in tables:
                tables[table][mapping_key] = o.vatcode
        return ApprovalContext(latest, base.model_copy(update={"vat": base.vat.model_copy(update=tables)}))

    async def history(self, key: str) -> list[Decision]:
        return await self._decisions.history(key)


def book_as_planned(plan: InvoicePlan, order: Order, settings: PlanSettings, registered: bool) -> InvoicePlan:
    """The held plan, released: same lines and totals, booked per ``[invoice] mode``, payment as for any booking."""
    mode = settings.invoice.mode
    payment = invoice_payment(order, settings, mode=mode, held=None, registered=registered, amount=plan.totals.total)
    return dataclasses.replace(plan, held=None, mode=mode, payment=payment)
