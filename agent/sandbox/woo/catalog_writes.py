"""What a shop owner does to the catalogue and the customers over REST, with the hooks WooCommerce fires.

``POST products`` → ``woocommerce_new_product`` (``product.created``); ``POST products/<id>/variations`` →
``woocommerce_new_product_variation`` (``product.created`` for the variation only: a real WooCommerce 10.0.2
delivered nothing for the parent); ``DELETE products/<id>`` → ``wp_trash_post`` (``product.deleted``, payload
``{"id"}``) when it goes to the trash; ``force=true`` deletes without that hook, so no webhook at all (real shop);
``POST customers`` → ``woocommerce_created_customer`` and then ``woocommerce_update_customer`` (the real shop
delivered ``customer.created`` and ``customer.updated``); ``PUT customers/<id>`` → ``woocommerce_update_customer``.
Payloads are built by the same renderers as the REST answers.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from agent.sandbox.woo.seed import CatalogueItem
from agent.sandbox.woo.shop import Product

if TYPE_CHECKING:
    from agent.sandbox.woo.state import Customer, ShopState

# WC_Customer's address keys, in the order the REST answer has them.
BILLING_KEYS = ("first_name", "last_name", "company", "address_1", "address_2", "city", "postcode", "country",
                "state", "email", "phone")
SHIPPING_KEYS = tuple(k for k in BILLING_KEYS if k != "email")
CATEGORIES: dict[int, tuple[str, str]] = {
    15: ("Uncategorized", "uncategorized"), 20: ("Kaffe", "kaffe"), 21: ("Tøj", "toj"), 22: ("Aviser", "aviser"),
}  # fmt: skip


_ACCENTS = str.maketrans({"æ": "ae", "ø": "o", "å": "a", "ß": "ss", "Æ": "Ae", "Ø": "O", "Å": "A"})


def wp_slug(text: str) -> str:
    """WordPress's sanitize_title: accents off (remove_accents), lower case, one dash between words."""
    plain = unicodedata.normalize("NFKD", text.translate(_ACCENTS)).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")


def _category(raw: Any) -> dict[str, object]:
    cid = int(raw.get("id") or 0) if isinstance(raw, dict) else int(raw)
    name, slug = CATEGORIES.get(cid, (str(raw.get("name", cid)) if isinstance(raw, dict) else str(cid), str(cid)))
    return {"id": cid, "name": name, "slug": slug}


def apply_catalog_fields(item: CatalogueItem, fields: Mapping[str, Any]) -> None:
    """The fields beyond stock/price/SKU/name a ``PUT``/``POST`` may set."""
    if "weight" in fields:
        item.weight = str(fields["weight"] or "")
    if "short_description" in fields:
        item.short_description = str(fields["short_description"] or "")
    if "categories" in fields:
        item.categories = [_category(c) for c in fields["categories"] or []]


def _price(fields: Mapping[str, Any]) -> Decimal:
    raw = fields.get("regular_price", fields.get("price", "0")) or "0"
    return Decimal(str(raw))


def create_product(state: ShopState, fields: Mapping[str, Any], parent_id: int = 0) -> CatalogueItem:
    from agent.sandbox.woo.state import ShopError

    sku = str(fields.get("sku") or "")
    if sku and any(i.product.sku == sku for i in state.items.values()):
        raise ShopError("product_invalid_sku", "Invalid or duplicated SKU.", 400)
    pid = state.next_post_id()
    parent = state.item(parent_id) if parent_id else None
    name = str(fields.get("name") or "")
    attrs: tuple[tuple[str, str, str], ...] = ()
    if parent is not None:
        attrs = tuple((wp_slug(str(a.get("name", ""))), str(a.get("name", "")), str(a.get("option")))
                      for a in fields.get("attributes") or [] if isinstance(a, dict))  # fmt: skip
        options = ", ".join(o for _, _, o in attrs)
        name = f"{parent.product.name} - {options}" if options else parent.product.name
    product = Product(id=pid, name=name, price=_price(fields), sku=sku, parent_id=parent_id,
                      parent_name=parent.product.name if parent else None, attributes=attrs,
                      tax_status=str(fields.get("tax_status") or "taxable"),
                      tax_class=str(fields.get("tax_class") or ""))  # fmt: skip
    kind = "variation" if parent else str(fields.get("type") or "simple")
    item = CatalogueItem(product, type=kind)
    apply_catalog_fields(item, fields)
    state.items[pid] = item
    state.modified[pid] = state.now()
    state.on_hook("woocommerce_new_product_variation" if parent else "woocommerce_new_product", pid)
    if parent is not None:
        parent.variations.append(pid)
    return item


def delete_product(state: ShopState, product_id: int, force: bool) -> CatalogueItem:
    from agent.sandbox.woo.state import ShopError

    item = state.item(product_id)
    if not force and item.status == "trash":
        raise ShopError("woocommerce_rest_already_trashed", "The product has already been deleted.", 410)
    if not force:
        state.on_hook("wp_trash_post", product_id)  # wp_delete_post (force) fires no hook a webhook listens to
    if force:
        del state.items[product_id]
        if item.product.parent_id and item.product.parent_id in state.items:
            state.items[item.product.parent_id].variations.remove(product_id)
    else:
        item.status = "trash"
    return item


def save_customer(state: ShopState, fields: Mapping[str, Any], customer_id: int | None = None) -> Customer:
    from agent.sandbox.woo.state import Customer, ShopError

    if customer_id is not None and customer_id not in state.customers:
        raise ShopError("wc_user_invalid_id", "Invalid user ID.", 404)
    created = customer_id is None
    if customer_id is None:
        email = str(fields.get("email") or "")
        if not email or any(c.email == email for c in state.customers.values()):
            raise ShopError("registration-error-email-exists", f"An account is already registered with {email}. "
                            "Please log in or use a different email address.", 400)  # fmt: skip
        customer_id = max([1, *state.customers]) + 1
        # A new account has every address field, empty, and has not paid yet (real shop's customer.created).
        state.customers[customer_id] = Customer(customer_id, email, "", "", dict.fromkeys(BILLING_KEYS, ""),
                                                email.split("@")[0], dict.fromkeys(SHIPPING_KEYS, ""), paying=False)
    c = state.customers[customer_id]
    for key in ("email", "first_name", "last_name"):
        if key in fields:
            setattr(c, key, str(fields[key]))
    if "billing" in fields:
        c.billing = {**c.billing, **{k: str(v) for k, v in fields["billing"].items()}}
    if "shipping" in fields:
        c.shipping = {**(c.shipping or {}), **{k: str(v) for k, v in fields["shipping"].items()}}
    if "meta_data" in fields:
        c.meta_data = [{"id": n + 1, "key": m["key"], "value": m.get("value")} for n, m in
                       enumerate(fields["meta_data"])]  # fmt: skip
    if created:
        state.on_hook("woocommerce_created_customer", customer_id)
    state.on_hook("woocommerce_update_customer", customer_id)
    return c
