"""Field mapping without code (issue 19): small Jinja2 templates over the order, in ``[mapping]``.

Each template runs in Jinja2's sandbox with ``StrictUndefined``, so a missing field is an error,
never an empty string silently booked. A template that fails holds the order with the template's
name and the error: the document is built from every template or not at all. Templates see
``order`` (the WooCommerce order as JSON), ``meta`` (order meta by key), ``shop`` (the shop name),
and line templates also ``line`` and ``line_meta``. Pure: no I/O.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agent.plan.types import Address, InvoicePlan, Skip
from agent.woo.models import LineItem, MetaData, Order

# Invoice header columns a template may fill besides the mapped fields; the agent's own
# (debtor, date, currency, reference, lines) are never mapped.
HEADER_COLUMNS = (
    "dlv_attention", "payment_method", "lang", "attention", "address", "zip", "city", "ref_country_name",
    "dlv_name", "dlv_address", "dlv_zip", "dlv_city", "dlv_ref_country_name",
)  # fmt: skip

if TYPE_CHECKING:
    from jinja2 import Template
    from jinja2.sandbox import SandboxedEnvironment


@functools.cache
def _env() -> SandboxedEnvironment:
    """Built when a template is first parsed or rendered: without [mapping] templates the agent never
    loads Jinja (issue 17: idle RSS)."""
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)


class MappingError(ValueError):
    """A template that cannot be rendered: its name and Jinja2's error."""


def _parse(name: str, source: str) -> str:
    if not source:
        return source  # "" means the agent's own rule: nothing to parse
    from jinja2 import TemplateError

    try:
        _env().parse(source)
    except TemplateError as exc:
        raise ValueError(f"template {name}: {exc}") from None
    return source


class MappingSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    invoice_text: str = Field("", description='Invoice text template ("" = [invoice] text).')
    customer_reference: str = Field(
        "", description="Reference shown to the customer, a line under the invoice text (the requisition "
        'column holds the agent\'s own reference); "" = none.',
    )
    line_text: str = Field("", description='Text of each product line, with line and line_meta ("" = line name).')
    line_note: str = Field("", description='Extra text under each product line (line txt), e.g. from line_meta.')
    attention: str = Field("", description='Attention/contact on the invoice and debtor ("" = the agent\'s rule).')
    delivery: dict[str, str] = Field(
        default_factory=dict, description="Delivery address templates: name, attention, address, zip, city, "
        "country (all or none; replaces the shipping address).",
    )
    invoice_fields: dict[str, str] = Field(
        default_factory=dict, description=f"Extra invoice header columns from templates (order meta): one of "
        f"{', '.join(HEADER_COLUMNS)}.",
    )

    @field_validator("invoice_text", "customer_reference", "line_text", "line_note", "attention")
    @classmethod
    def _template(cls, value: str) -> str:
        return _parse("", value)

    @field_validator("delivery")
    @classmethod
    def _delivery(cls, value: dict[str, str]) -> dict[str, str]:
        wanted = {f.name for f in dataclasses.fields(Address)}
        if value and set(value) != wanted:
            raise ValueError(f"needs exactly the keys {', '.join(sorted(wanted))}")
        return {k: _parse(f"delivery.{k}", v) for k, v in value.items()}

    @field_validator("invoice_fields")
    @classmethod
    def _fields(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(HEADER_COLUMNS))
        if unknown:
            raise ValueError(f"unknown invoice column(s) {', '.join(unknown)}; one of {', '.join(HEADER_COLUMNS)}")
        return {k: _parse(f"invoice_fields.{k}", v) for k, v in value.items()}

    def templates(self) -> dict[str, str]:
        """Every non-empty template by its config name (what ``check`` renders against an order)."""
        out = {k: getattr(self, k) for k in ("invoice_text", "customer_reference", "line_text", "line_note",
                                               "attention") if getattr(self, k)}  # fmt: skip
        out |= {f"delivery.{k}": v for k, v in self.delivery.items()}
        return out | {f"invoice_fields.{k}": v for k, v in self.invoice_fields.items()}


def _metas(meta: list[MetaData]) -> dict[str, Any]:
    return {m.key: m.value for m in meta}


@functools.lru_cache(maxsize=256)
def _compiled(source: str) -> Template:
    """A template compiled once: jinja2 compiles every ``from_string`` anew (Python source, then bytecode),
    which cost more CPU per order than the rest of the plan. Bounded: a config has a few templates."""
    return _env().from_string(source)


def render(name: str, source: str, **context: Any) -> str:
    try:
        return _compiled(source).render(**context).strip()
    except Exception as exc:  # any error a template raises holds the order, named
        raise MappingError(f"[mapping] {name}: {type(exc).__name__}: {exc}") from None


def order_context(order: Order, shop: str) -> dict[str, Any]:
    return {"order": order.model_dump(mode="json"), "meta": _metas(order.meta_data), "shop": shop}


def _line_context(item: LineItem, base: Mapping[str, Any]) -> dict[str, Any]:
    return {**base, "line": item.model_dump(mode="json"), "line_meta": _metas(item.meta_data)}


def _lines(plan: InvoicePlan, order: Order, m: MappingSettings, base: Mapping[str, Any]) -> tuple[Any, ...]:
    items = {f"item:{i.id}": i for i in order.line_items}
    out = []
    for line in plan.lines:
        item = items.get(line.source)
        if item is None or not (m.line_text or m.line_note):
            out.append(line)
            continue
        context = _line_context(item, base)
        name = render("line_text", m.line_text, **context) if m.line_text else line.name
        note = render("line_note", m.line_note, **context) if m.line_note else line.txt
        out.append(dataclasses.replace(line, name=name or line.name, txt=note))
    return tuple(out)


def _mapped(plan: InvoicePlan, order: Order, m: MappingSettings, shop: str) -> InvoicePlan:
    base = order_context(order, shop)
    text = render("invoice_text", m.invoice_text, **base) if m.invoice_text else plan.text
    if m.customer_reference and (ref := render("customer_reference", m.customer_reference, **base)):
        text = f"{text}\n{ref}"
    debtor = plan.debtor
    if m.attention:
        debtor = dataclasses.replace(debtor, attention=render("attention", m.attention, **base))
    if m.delivery:
        fields = {k: render(f"delivery.{k}", v, **base) for k, v in m.delivery.items()}
        debtor = dataclasses.replace(debtor, delivery=Address(**fields))
    extra = {k: render(f"invoice_fields.{k}", v, **base) for k, v in m.invoice_fields.items()}
    return dataclasses.replace(plan, text=text, debtor=debtor, lines=_lines(plan, order, m, base),
                               header_fields={k: v for k, v in extra.items() if v})  # fmt: skip


def apply_mapping(plan: InvoicePlan, order: Order, m: MappingSettings, shop: str) -> InvoicePlan | Skip:
    """The plan with every mapped field rendered, or a hold naming the template that failed."""
    try:
        return _mapped(plan, order, m, shop)
    except MappingError as exc:
        return Skip(order.id, "hold", f"order {order.number or order.id}: {exc}")
