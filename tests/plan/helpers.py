"""Small helpers shared by the planner tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agent.plan import InvoicePlan, PlanLine, PlanSettings
from agent.woo.models import Order, Refund, loads

FIXTURES = Path(__file__).parent.parent / "fixtures"


def real(name: str) -> Any:
    return loads((FIXTURES / "woocommerce-real" / "rest" / name).read_text(encoding="utf-8"))["body"]


def synthetic(name: str) -> Any:
    return loads((FIXTURES / "woocommerce" / name).read_text(encoding="utf-8"))


def order17() -> Order:
    return Order.model_validate(real("order.json"))


def order19() -> Order:
    return Order.model_validate(real("order-de.json"))


def refund18() -> Refund:
    return Refund.model_validate(real("refund.json"))


def settings(**tables: dict[str, Any]) -> PlanSettings:
    return PlanSettings.model_validate(tables)


def show(line: PlanLine) -> str:
    """``PRODUCT qty×price CODE [-pct%]``: one line as the tables spell it."""
    text = f"{line.product} {line.qty}×{line.unit_price} {line.vat_code or '-'}"
    return text + (f" -{line.discount_percent}%" if line.discount_percent else "")


def shown(plan: InvoicePlan | Any) -> list[str]:
    return [show(line) for line in plan.lines]
