"""REST JSON of the sandbox's products, variations, customers, webhooks, taxes and settings.

Key sets and order follow the captured responses (``rest/product-simple.json``, ``rest/variation.json``,
``rest/taxes.json``, ``rest/webhooks.json``). A variation rendered by the *products* endpoint (as product
webhooks do) has the product shape with ``type: "variation"`` and the full name (``T-shirt - S``).
"""

from __future__ import annotations

from typing import Any

from agent.sandbox.woo.catalog_writes import wp_slug
from agent.sandbox.woo.orderjson import gmt, local
from agent.sandbox.woo.seed import TAX_RATES, CatalogueItem
from agent.sandbox.woo.state import Customer, ShopState
from agent.sandbox.woo.taxes import fmt_money

UNCATEGORIZED = {"id": 15, "name": "Uncategorized", "slug": "uncategorized"}
ALLOW = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def _links(href: str, collection: str, up: str | None = None) -> dict[str, Any]:
    links: dict[str, Any] = {"self": [{"href": href, "targetHints": {"allow": list(ALLOW)}}],
                             "collection": [{"href": collection}]}
    if up:
        links["up"] = [{"href": up}]
    return links


def _stock_status(item: CatalogueItem, state: ShopState) -> str:
    owner = state.stock_owner(item.id)
    if state.managing_stock(owner) is True and owner.stock_quantity is not None and owner.stock_quantity <= 0:
        return "onbackorder" if owner.backorders != "no" else "outofstock"
    return "instock"


def _stock_fields(item: CatalogueItem, state: ShopState) -> tuple[bool | str, int | None]:
    manage = state.managing_stock(item)
    if manage == "parent":
        return "parent", state.stock_owner(item.id).stock_quantity  # the parent's quantity is shown
    return manage, item.stock_quantity if item.manage_stock is True else None


def _price_html(price: str) -> str:
    amount = price.replace(".", ",")
    return ('<span class="woocommerce-Price-amount amount"><bdi>' + amount +
            '&nbsp;<span class="woocommerce-Price-currencySymbol">kr.</span></bdi></span>')


def product_json(item: CatalogueItem, state: ShopState) -> dict[str, Any]:
    """``GET /products/<id>`` (also for a variation id, as the products endpoint renders it)."""
    p, home = item.product, state.home
    price = fmt_money(p.price)
    is_var = item.type == "variation"
    manage, qty = _stock_fields(item, state)
    created, modified = state.created, state.modified.get(item.id, state.created)
    permalink = f"{home}product/{wp_slug(p.parent_name or p.name)}/"
    if is_var:
        permalink += "?" + "&".join(f"attribute_{s}={o}" for s, _, o in p.attributes)
    api = f"{home}wp-json/wc/v3/products"
    return {
        "id": p.id, "name": p.name, "slug": wp_slug(p.name), "permalink": permalink,
        "date_created": local(created), "date_created_gmt": gmt(created),
        "date_modified": local(modified), "date_modified_gmt": gmt(modified),
        "type": item.type, "status": item.status, "featured": False, "catalog_visibility": "visible",
        "description": "", "short_description": item.short_description, "sku": p.sku, "price": price,
        "regular_price": "" if item.type == "variable" else price, "sale_price": "",
        "date_on_sale_from": None, "date_on_sale_from_gmt": None, "date_on_sale_to": None,
        "date_on_sale_to_gmt": None, "on_sale": False, "purchasable": True,
        "total_sales": str(item.total_sales) if is_var else item.total_sales,
        "virtual": p.virtual, "downloadable": p.downloadable, "downloads": [], "download_limit": -1,
        "download_expiry": -1, "external_url": "", "button_text": "", "tax_status": p.tax_status,
        "tax_class": p.tax_class, "manage_stock": manage, "stock_quantity": qty, "backorders": item.backorders,
        "backorders_allowed": item.backorders != "no", "backordered": False, "low_stock_amount": None,
        "sold_individually": False, "weight": item.weight, "dimensions": {"length": "", "width": "", "height": ""},
        "shipping_required": not p.virtual, "shipping_taxable": p.tax_status != "none", "shipping_class": "",
        "shipping_class_id": 0, "reviews_allowed": not is_var, "average_rating": "0.00", "rating_count": 0,
        "upsell_ids": [], "cross_sell_ids": [], "parent_id": p.parent_id, "purchase_note": "",
        "categories": [] if is_var else (item.categories or [UNCATEGORIZED]),
        "brands": [], "tags": [], "images": [], "attributes": _attributes(item), "default_attributes": [],
        "variations": list(item.variations), "grouped_products": [], "menu_order": 0,
        "price_html": _price_html(price), "related_ids": [], "meta_data": [],
        "stock_status": _stock_status(item, state), "has_options": item.type == "variable", "post_password": "",
        "global_unique_id": "",
        "_links": _links(f"{api}/{p.id}", api, f"{api}/{p.parent_id}" if is_var else None),
    }


def _attributes(item: CatalogueItem) -> list[dict[str, Any]]:
    p = item.product
    if item.type == "variation":
        return [{"id": 0, "name": label, "slug": slug, "option": option} for slug, label, option in p.attributes]
    if item.type == "variable":
        return [{"id": 0, "name": "Størrelse", "slug": "Størrelse", "position": 0, "visible": True,
                 "variation": True, "options": list(item.attribute_options)}]
    return []


def variation_json(item: CatalogueItem, state: ShopState) -> dict[str, Any]:
    """``GET /products/<parent>/variations/<id>`` (``rest/variation.json`` shape)."""
    full = product_json(item, state)
    p, home = item.product, state.home
    api = f"{home}wp-json/wc/v3/products/{p.parent_id}/variations"
    keys = ("id", "type", "date_created", "date_created_gmt", "date_modified", "date_modified_gmt", "description",
            "permalink", "sku", "global_unique_id", "price", "regular_price", "sale_price", "date_on_sale_from",
            "date_on_sale_from_gmt", "date_on_sale_to", "date_on_sale_to_gmt", "on_sale", "status", "purchasable",
            "virtual", "downloadable", "downloads", "download_limit", "download_expiry", "tax_status")
    out = {k: full[k] for k in keys}
    out["tax_class"] = p.tax_class
    for key in ("manage_stock", "stock_quantity", "stock_status", "backorders", "backorders_allowed",
                "backordered", "low_stock_amount", "weight", "dimensions", "shipping_class", "shipping_class_id"):
        out[key] = full[key]
    out.update(image=None, attributes=full["attributes"], menu_order=0, meta_data=[],
               name=", ".join(o for _, _, o in p.attributes), parent_id=p.parent_id,
               _links=_links(f"{api}/{p.id}", api, f"{home}wp-json/wc/v3/products/{p.parent_id}"))
    return out


def customer_json(customer: Customer, state: ShopState) -> dict[str, Any]:
    api = f"{state.home}wp-json/wc/v3/customers"
    when = state.created
    shipping = customer.shipping if customer.shipping is not None else \
        {k: v for k, v in customer.billing.items() if k != "email"}
    return {
        "id": customer.id, "date_created": local(when), "date_created_gmt": gmt(when),
        "date_modified": local(when), "date_modified_gmt": gmt(when), "email": customer.email,
        "first_name": customer.first_name, "last_name": customer.last_name, "role": "customer",
        "username": customer.username, "billing": dict(customer.billing), "shipping": shipping,
        "is_paying_customer": customer.paying, "avatar_url": "", "meta_data": list(customer.meta_data),
        "_links": _links(f"{api}/{customer.id}", api),
    }


def tax_json(state: ShopState) -> list[dict[str, Any]]:
    api = f"{state.home}wp-json/wc/v3/taxes"
    return [{
        "id": r.id, "country": r.country, "state": r.state, "postcode": "", "city": "",
        "rate": f"{r.rate:.4f}", "name": r.name, "priority": r.priority, "compound": r.compound,
        "shipping": r.shipping, "order": n, "class": r.tax_class or "standard", "postcodes": [], "cities": [],
        "_links": _links(f"{api}/{r.id}", api),
    } for n, r in enumerate(TAX_RATES)]


def settings_json(state: ShopState, group: str) -> list[dict[str, Any]] | None:
    s = state.settings
    values = {
        "general": {"woocommerce_default_country": s.base_country, "woocommerce_currency": s.currency,
                    "woocommerce_price_num_decimals": str(s.decimals), "woocommerce_calc_taxes": "yes",
                    "woocommerce_store_city": "København V",
                    "woocommerce_store_address": "Vesterbrogade 1", "woocommerce_store_postcode": "1620"},
        "products": {"woocommerce_manage_stock": "yes" if state.manage_stock_option else "no",
                     "woocommerce_notify_no_stock_amount": "0", "woocommerce_stock_format": ""},
        "tax": {"woocommerce_prices_include_tax": "yes" if s.prices_include_tax else "no",
                "woocommerce_tax_based_on": s.tax_based_on, "woocommerce_shipping_tax_class": s.shipping_tax_class,
                "woocommerce_tax_round_at_subtotal": "no", "woocommerce_tax_classes": "Reduced rate\nZero rate",
                "woocommerce_tax_display_shop": "incl", "woocommerce_tax_display_cart": "incl"},
    }.get(group)
    if values is None:
        return None
    api = f"{state.home}wp-json/wc/v3/settings/{group}"
    return [{"id": k, "label": k, "description": "", "type": "text", "default": "", "tip": "", "value": v,
             "_links": _links(f"{api}/{k}", api)} for k, v in values.items()]
