"""The catalog room: products and customers synced on their own, not only as a side effect of an order."""

from __future__ import annotations

from dataclasses import dataclass

from agent.catalog.bulk import BulkSync
from agent.catalog.customers import CustomerSync
from agent.catalog.products import ProductSync
from agent.catalog.shop import ShopFactsCache
from agent.clock import Clock
from agent.dynaccount.client import DynaccountClient
from agent.journal import Journal
from agent.plan.settings import PlanSettings
from agent.woo.client import WooClient

PRODUCT_TOPICS = ("product.created", "product.updated", "product.deleted")
CUSTOMER_TOPICS = ("customer.created", "customer.updated")


def products_on(settings: PlanSettings) -> bool:
    return settings.products.on_shop_events and settings.products.sync != "never"


def customers_on(settings: PlanSettings) -> bool:
    return settings.debtors.update_existing or settings.debtors.create_on_customer_event


def topics(settings: PlanSettings) -> tuple[str, ...]:
    """The webhooks the catalog room needs, registered and healed with the orders' while it is on."""
    return (PRODUCT_TOPICS if products_on(settings) else ()) + (CUSTOMER_TOPICS if customers_on(settings) else ())


@dataclass
class Catalog:
    products: ProductSync
    customers: CustomerSync
    bulk: BulkSync
    settings: PlanSettings

    @classmethod
    def build(cls, journal: Journal, woo: WooClient, dyn: DynaccountClient, clock: Clock,
              settings: PlanSettings) -> Catalog:  # fmt: skip
        facts = ShopFactsCache(woo, clock)
        products = ProductSync(woo, dyn, facts, settings.products)
        customers = CustomerSync(journal, woo, dyn, facts, settings)
        return cls(products, customers, BulkSync(journal, woo, products, customers), settings)


__all__ = ["CUSTOMER_TOPICS", "PRODUCT_TOPICS", "Catalog", "customers_on", "products_on", "topics"]
