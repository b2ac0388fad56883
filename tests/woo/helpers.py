"""Shared helpers for the WooCommerce tests (fixture loading, the real carts)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
REAL = FIXTURES / "woocommerce-real"
SYNTHETIC = FIXTURES / "woocommerce"
REAL_SECRET = "woo-stack-webhook-secret"

BILLING_DK = {
    "first_name": "Mette", "last_name": "Jørgensen", "address_1": "Nørrebrogade 12, 2. th",
    "city": "København N", "postcode": "2200", "country": "DK", "email": "mette@example.com",
    "phone": "+45 12 34 56 78",
}
SHIPPING_DK = {k: v for k, v in BILLING_DK.items() if k not in ("email", "phone")}

# The cart of the real order 17 (README of the capture), as the capture script posted it.
CART_17: dict[str, Any] = {
    "payment_method": "bacs", "payment_method_title": "Bankoverførsel",
    "customer_note": "Stil pakken ved døren",
    "billing": BILLING_DK, "shipping": SHIPPING_DK,
    "line_items": [
        {"product_id": 11, "quantity": 2},
        {"product_id": 13, "variation_id": 14, "quantity": 1},
        {"product_id": 12, "quantity": 1},
    ],
    "coupon_lines": [{"code": "velkommen10"}],
    "shipping_lines": [{"method_id": "flat_rate", "method_title": "GLS Pakkeshop", "total": "39.20"}],
    "meta_data": [{"key": "_woo_stack_run", "value": "2026-11-24T05:56:49"}],
}

BILLING_DE = {"first_name": "Jonas", "last_name": "Müller", "address_1": "Torstraße 5", "city": "Berlin",
              "postcode": "10119", "country": "DE", "email": "jonas@example.com", "phone": "+49 30 1234567"}
CART_19: dict[str, Any] = {
    "payment_method": "bacs", "payment_method_title": "Bankoverførsel",
    "billing": BILLING_DE, "shipping": {k: v for k, v in BILLING_DE.items() if k not in ("email", "phone")},
    "line_items": [{"product_id": 13, "variation_id": 15, "quantity": 1}],
    "shipping_lines": [{"method_id": "flat_rate", "method_title": "DHL", "total": "60.00"}],
}


def real_rest(name: str) -> Any:
    return json.loads((REAL / "rest" / name).read_text(encoding="utf-8"))["body"]


def key_paths(value: Any, prefix: str = "") -> set[str]:
    """Every key path in a JSON value (list items collapsed to ``[]``)."""
    out: set[str] = set()
    if isinstance(value, dict):
        for k, v in value.items():
            out.add(prefix + k)
            out |= key_paths(v, f"{prefix}{k}.")
    elif isinstance(value, list):
        for v in value:
            out |= key_paths(v, f"{prefix}[].")
    return out
