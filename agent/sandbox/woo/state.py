"""The sandbox shop's state: catalogue, orders, refunds, and the WordPress hooks its changes fire.

Every change goes through a method here, which fires the hook WooCommerce would fire
(``woocommerce_new_order``, ``woocommerce_update_order``, ``woocommerce_order_refunded``,
``woocommerce_update_product(_variation)`` …) into ``on_hook``; the webhook dispatcher turns hooks into
deliveries. Stock follows WooCommerce: reduced when an order becomes processing/completed/on-hold,
restored on cancel, restocked by refunds with ``api_restock``.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from agent.sandbox.woo.catalog_writes import apply_catalog_fields
from agent.sandbox.woo.checkout import CheckoutError, Shop, ShopSettings
from agent.sandbox.woo.orderjson import Ids, StoredOrder, StoredRefund, add_line_meta, new_order
from agent.sandbox.woo.refunds import build_refund, is_fully_refunded
from agent.sandbox.woo.seed import COUPONS, FIRST_FREE_POST_ID, CatalogueItem, catalogue, danish_shop

Hook = Callable[[str, int], None]
STOCK_REDUCING = ("processing", "completed", "on-hold")
STATUSES = ("pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed")


class ShopError(Exception):
    """A REST error ``{code, message, data}``; ``bare_data`` reproduces the refund controller's quirk."""

    def __init__(self, code: str, message: str, status: int = 400, *, bare_data: bool = False,
                 params: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.status, self.bare_data, self.params = code, message, status, bare_data, params


@dataclass
class Customer:
    id: int
    email: str
    first_name: str
    last_name: str
    billing: dict[str, str]
    username: str = ""
    shipping: dict[str, str] | None = None  # None: the billing address without the email
    meta_data: list[dict[str, Any]] = field(default_factory=list)
    paying: bool = True  # is_paying_customer: false until the first paid order (a new account over REST)


@dataclass
class ShopState:
    """Mutable shop. ``now`` is the injected clock; ``home`` the site URL with trailing slash."""

    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    home: str = "http://127.0.0.1/"
    settings: ShopSettings = field(default_factory=ShopSettings)
    items: dict[int, CatalogueItem] = field(default_factory=dict)
    orders: dict[int, StoredOrder] = field(default_factory=dict)
    customers: dict[int, Customer] = field(default_factory=dict)
    ids: Ids = field(default_factory=Ids)
    on_hook: Hook = field(default=lambda hook, arg: None)
    _next_post: int = FIRST_FREE_POST_ID
    modified: dict[int, datetime] = field(default_factory=dict)  # product id -> date_modified
    manage_stock_option: bool = True  # the global woocommerce_manage_stock option (Settings → Products → Inventory)
    batch_limit: int = 100  # the woocommerce_rest_batch_items_limit filter
    refuse: dict[int, tuple[str, str, int]] = field(default_factory=dict)  # id -> REST error a write gets (control)
    calls: dict[str, int] = field(default_factory=dict)  # catalogue REST calls by kind, for tests and benchmarks
    created: datetime = field(default_factory=lambda: datetime.now(UTC))
    # What a broken plugin does to an order's REST output: field -> value (None drops the field,
    # "__deep__:N" becomes JSON nested N levels deep). Real shops have sent both.
    broken_orders: dict[int, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.items:
            self.items = {i.id: i for i in catalogue()}
        if not self.customers:
            self.customers = {c.id: c for c in _seed_customers()}
        self.created = self.now()

    @property
    def shop(self) -> Shop:
        return danish_shop(list(self.items.values()), self.settings)

    def next_post_id(self) -> int:
        taken = set(self.items) | {c.id for c in COUPONS} | set(self.orders)
        while self._next_post in taken:
            self._next_post += 1
        self._next_post += 1
        return self._next_post - 1

    # -- orders ------------------------------------------------------------------------------------

    def order(self, order_id: int) -> StoredOrder:
        order = self.orders.get(order_id)
        if order is None:
            raise ShopError("woocommerce_rest_shop_order_invalid_id", "Invalid ID.", 404)
        return order

    def create_order(self, payload: Mapping[str, Any]) -> StoredOrder:
        try:
            order = new_order(self.shop, payload, order_id=self.next_post_id(), ids=self.ids, now=self.now(),
                              order_key="wc_order_" + "".join(secrets.choice(_ALNUM) for _ in range(13)))
        except CheckoutError as exc:
            raise ShopError(exc.code, exc.message, exc.status) from exc
        requested = order.status
        order.status = "pending"
        self.orders[order.id] = order
        self.on_hook("woocommerce_new_order", order.id)
        if payload.get("set_paid"):
            self._payment_complete(order)
        elif requested != "pending":
            self._set_status(order, requested)
        self._touch(order)
        return order

    def update_order(self, order_id: int, payload: Mapping[str, Any]) -> StoredOrder:
        order = self.order(order_id)
        for key in ("customer_note", "transaction_id", "payment_method", "payment_method_title"):
            if key in payload:
                setattr(order, key, str(payload[key]))
        for meta in payload.get("meta_data") or []:
            order.meta_data.append({"id": self.ids.meta_id(), "key": str(meta["key"]), "value": meta.get("value")})
        if payload.get("set_paid") and order.paid is None:
            self._payment_complete(order)
        elif "status" in payload:
            self._set_status(order, str(payload["status"]))
        self._touch(order)
        return order

    def advance(self, order_id: int, status: str | None = None) -> StoredOrder:
        """Control API: next status of the usual life cycle (pending -> processing -> completed)."""
        order = self.order(order_id)
        nxt = status or {"pending": "processing", "on-hold": "processing", "processing": "completed"}.get(
            order.status, order.status)
        return self.update_order(order_id, {"status": nxt})

    def _payment_complete(self, order: StoredOrder) -> None:
        if order.transaction_id == "" and order.payment_method in ("stripe", "mobilepay"):
            order.transaction_id = f"sandbox_{order.id}"
        # Cash on delivery goes straight to completed; so does an order of virtual+downloadable goods.
        done = order.payment_method == "cod" or not order.needs_processing
        self._set_status(order, "completed" if done else "processing")

    def _set_status(self, order: StoredOrder, status: str) -> None:
        status = status.removeprefix("wc-")
        if status not in STATUSES:
            raise ShopError("rest_invalid_param", "Invalid parameter(s): status", 400,
                            params={"status": f"status is not one of {', '.join(STATUSES)}."})
        if status == order.status:
            return
        order.status = status
        now = self.now()
        if status in ("processing", "completed") and order.paid is None:
            order.paid = now
        if status == "completed":
            order.completed = now
        if status in STOCK_REDUCING and not order.stock_reduced:
            self._reduce_stock(order)
        elif status in ("cancelled", "pending") and order.stock_reduced:
            self._restore_stock(order)

    def _touch(self, order: StoredOrder) -> None:
        order.modified = self.now()
        self.on_hook("woocommerce_update_order", order.id)

    def _reduce_stock(self, order: StoredOrder) -> None:
        order.stock_reduced = True
        for item_id, line in zip(order.line_ids, order.checkout.lines, strict=True):
            if self.change_stock(line.product.id, -line.quantity):
                add_line_meta(order, self.ids, item_id, "_reduced_stock", str(line.quantity))

    def _restore_stock(self, order: StoredOrder) -> None:
        """wc_increase_stock_levels: gives back each line's ``_reduced_stock`` (less what restocking refunds took
        back already), and that meta goes."""
        order.stock_reduced = False
        for item_id, line in zip(order.line_ids, order.checkout.lines, strict=True):
            reduced = _reduced_stock(order, item_id)
            if reduced and self.change_stock(line.product.id, reduced):
                order.line_meta[item_id] = [m for m in order.line_meta[item_id] if m["key"] != "_reduced_stock"]

    # -- refunds -----------------------------------------------------------------------------------

    def create_refund(self, order_id: int, payload: Mapping[str, Any]) -> StoredRefund:
        order = self.order(order_id)
        refund = build_refund(order, self.shop, payload, refund_id=self.next_post_id(), ids=self.ids,
                              now=self.now(), error=ShopError)
        order.refunds.insert(0, refund)
        if payload.get("api_restock", True):
            for line in refund.lines:
                if line["kind"] == "line_items" and line["quantity"] < 0:
                    self._restock_refunded(order, int(line["_refunded_item_id"]), -int(line["quantity"]))
        self.on_hook("woocommerce_refund_created", refund.id)
        if is_fully_refunded(order):
            order.status = "refunded"
        order.modified = self.now()
        self.on_hook("woocommerce_order_refunded", order.id)
        self.on_hook("woocommerce_update_order", order.id)
        return refund

    def _restock_refunded(self, order: StoredOrder, item_id: int, quantity: int) -> None:
        """wc_restock_refunded_items: only a line whose stock was reduced; ``_reduced_stock`` goes down by what
        comes back and ``_restock_refunded_items`` keeps the running total (seen on a real WooCommerce 10.0.2)."""
        reduced = _reduced_stock(order, item_id)
        if not reduced or not self.change_stock(order.line(item_id).product.id, quantity):
            return
        done = sum(int(m["value"]) for m in order.line_meta.get(item_id, []) if m["key"] == "_restock_refunded_items")
        add_line_meta(order, self.ids, item_id, "_reduced_stock", str(reduced - quantity))
        add_line_meta(order, self.ids, item_id, "_restock_refunded_items", str(done + quantity))

    def refunds(self) -> list[StoredRefund]:
        every = [r for o in self.orders.values() for r in o.refunds]
        return sorted(every, key=lambda r: (r.created, r.id), reverse=True)

    # -- catalogue ---------------------------------------------------------------------------------

    def item(self, product_id: int) -> CatalogueItem:
        item = self.items.get(product_id)
        if item is None:
            raise ShopError("woocommerce_rest_product_invalid_id", "Invalid ID.", 404)
        return item

    def stock_owner(self, product_id: int) -> CatalogueItem:
        item = self.item(product_id)
        if item.manage_stock == "parent":
            return self.item(item.product.parent_id)
        return item

    def managing_stock(self, item: CatalogueItem) -> bool | str:
        """``WC_Product::managing_stock()``: false for everything while the global option is off."""
        return item.manage_stock if self.manage_stock_option else False

    def count(self, kind: str) -> None:
        self.calls[kind] = self.calls.get(kind, 0) + 1

    def change_stock(self, product_id: int, delta: int) -> bool:
        """Sale/restock: returns False when nothing manages stock for this product."""
        owner = self.stock_owner(product_id)
        if not self.manage_stock_option or owner.manage_stock is not True or owner.stock_quantity is None:
            return False  # wc_reduce_stock_levels does nothing while the global option is off
        owner.stock_quantity += delta
        self.product_saved(owner.id)
        return True

    def update_product(self, product_id: int, fields: Mapping[str, Any]) -> CatalogueItem:
        """``PUT products/<id>`` subset: stock, prices, SKU, name (stock needs manage_stock, spec §4.3)."""
        item = self.item(product_id)
        if product_id in self.refuse:
            code, message, status = self.refuse[product_id]
            raise ShopError(code, message, status)
        # The products controller skips the whole stock block while the global option is off; the
        # variations controller does not look at the option (WC10 controllers, spec §4.3).
        if self.manage_stock_option or item.type == "variation":
            self._update_stock(item, fields)
        self._update_product_fields(item, fields)
        self.product_saved(item.id)
        return item

    @staticmethod
    def _update_stock(item: CatalogueItem, fields: Mapping[str, Any]) -> None:
        if "manage_stock" in fields:
            item.manage_stock = fields["manage_stock"]
        if item.type in ("grouped", "external"):
            item.manage_stock, item.stock_quantity = False, None  # never manage stock
        elif "stock_quantity" in fields and item.manage_stock is True:
            item.stock_quantity = int(fields["stock_quantity"])  # wc_stock_amount: whole units
        elif "stock_quantity" in fields and item.manage_stock is False:
            item.stock_quantity = None  # ignored and cleared when the item does not manage stock

    def _update_product_fields(self, item: CatalogueItem, fields: Mapping[str, Any]) -> None:
        changes: dict[str, Any] = {}
        if "regular_price" in fields or "price" in fields:
            changes["price"] = Decimal(str(fields.get("regular_price", fields.get("price"))))
        if "sku" in fields:
            sku = str(fields["sku"])
            if sku and any(i.product.sku == sku and i.id != item.id for i in self.items.values()):
                raise ShopError("product_invalid_sku", "Invalid or duplicated SKU.", 400)
            changes["sku"] = sku
        if "name" in fields:
            changes["name"] = str(fields["name"])
        for key in ("tax_class", "tax_status"):
            if key in fields:
                changes[key] = str(fields[key])
        if changes:
            item.product = replace(item.product, **changes)
        apply_catalog_fields(item, fields)

    def product_saved(self, product_id: int) -> None:
        self.modified[product_id] = self.now()
        kind = self.items[product_id].type
        self.on_hook("woocommerce_update_product_variation" if kind == "variation" else "woocommerce_update_product",
                     product_id)

    def stock_levels(self) -> dict[int, int | None]:
        return {i.id: i.stock_quantity for i in self.items.values() if self.managing_stock(i) is True}


_ALNUM = string.ascii_letters + string.digits


def _reduced_stock(order: StoredOrder, item_id: int) -> int:
    return sum(int(m["value"]) for m in order.line_meta.get(item_id, []) if m["key"] == "_reduced_stock")


def _seed_customers() -> list[Customer]:
    mette = {"first_name": "Mette", "last_name": "Hansen", "company": "", "address_1": "Nørregade 12, 2. th",
             "address_2": "", "city": "København K", "state": "", "postcode": "1165", "country": "DK",
             "email": "mette.hansen@example.dk", "phone": "+45 12 34 56 78"}
    firma = {"first_name": "Lars", "last_name": "Nielsen", "company": "Nordisk Kaffe ApS",
             "address_1": "Industrivej 4", "address_2": "", "city": "Aarhus C", "state": "", "postcode": "8000",
             "country": "DK", "email": "bogholderi@nordiskkaffe.example", "phone": "+45 87 65 43 21"}
    return [Customer(2, mette["email"], "Mette", "Hansen", mette, "mette.hansen"),
            Customer(3, firma["email"], "Lars", "Nielsen", firma, "nordiskkaffe")]
