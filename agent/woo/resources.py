"""Pydantic models for products, variations, customers, webhooks, tax rates and settings (wc/v3).

Only the fields the agent uses; unknown fields are ignored. Product prices are stored strings that may be
empty (``""`` on a variable parent) -> ``None``; ``manage_stock`` may be the string ``"parent"`` on a
variation (spec §4.2).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agent.woo.models import Address, MetaData


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)


def _price(value: Any) -> Any:
    if value is None or value == "":
        return None
    if isinstance(value, float):
        return Decimal(repr(value))
    return value


class ProductAttribute(_Model):
    id: int = 0
    name: str = ""
    slug: str = ""
    option: str | None = None
    options: list[str] = Field(default_factory=list)


class Product(_Model):
    """A product or a variation (``type == "variation"``, ``parent_id`` set)."""

    id: int
    name: str = ""
    type: str = "simple"
    status: str = "publish"
    sku: str | None = ""
    global_unique_id: str = ""
    price: Decimal | None = None
    regular_price: Decimal | None = None
    sale_price: Decimal | None = None
    tax_status: str = "taxable"
    tax_class: str = ""
    manage_stock: bool | Literal["parent"] = False
    stock_quantity: int | None = None
    stock_status: str = "instock"
    backorders: str = "no"
    parent_id: int = 0
    variations: list[int] = Field(default_factory=list)
    virtual: bool = False
    downloadable: bool = False
    attributes: list[ProductAttribute] = Field(default_factory=list)
    meta_data: list[MetaData] = Field(default_factory=list)
    date_modified_gmt: str | None = None

    _coerce = field_validator("price", "regular_price", "sale_price", mode="before")(_price)

    @property
    def is_variation(self) -> bool:
        return self.type == "variation"

    @property
    def stock_owner_id(self) -> int:
        """Where stock must be written: the parent when the variation says ``manage_stock: "parent"``."""
        return self.parent_id if self.manage_stock == "parent" and self.parent_id else self.id


class Customer(_Model):
    id: int
    email: str = ""
    first_name: str = ""
    last_name: str = ""
    role: str = "customer"
    username: str = ""
    billing: Address = Field(default_factory=Address)
    shipping: Address = Field(default_factory=Address)
    is_paying_customer: bool = False
    meta_data: list[MetaData] = Field(default_factory=list)
    date_modified_gmt: str | None = None


class Webhook(_Model):
    id: int
    name: str = ""
    status: str = "active"
    topic: str
    resource: str = ""
    event: str = ""
    hooks: list[str] = Field(default_factory=list)
    delivery_url: str = ""
    date_created_gmt: str | None = None
    date_modified_gmt: str | None = None


class TaxRate(_Model):
    """A row of ``GET /taxes`` (``class`` is a Python keyword, hence ``tax_class``)."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True, defer_build=True)

    id: int
    country: str = ""
    state: str = ""
    rate: Decimal = Decimal("0")
    name: str = ""
    priority: int = 1
    compound: bool = False
    shipping: bool = True
    tax_class: str = Field(default="standard", alias="class")


class Setting(_Model):
    id: str
    label: str = ""
    type: str = ""
    value: Any = None
    default: Any = None
