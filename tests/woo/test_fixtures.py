"""Every captured REST response and webhook body parses into the models, money as Decimal."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from agent.woo.models import Order, Refund, loads
from agent.woo.resources import Customer, Product, Setting, TaxRate, Webhook
from agent.woo.signature import verify

from .helpers import REAL, REAL_SECRET, SYNTHETIC

REST_MODELS: dict[str, Any] = {
    "order": Order, "refund": Refund, "product": Product, "variation": Product, "taxes": TaxRate,
    "webhooks": Webhook, "settings": Setting, "refunds-list": Refund,
}


def _model_for(name: str) -> Any:
    return next(model for prefix, model in REST_MODELS.items() if name.startswith(prefix))


@pytest.mark.parametrize("path", sorted((REAL / "rest").glob("*.json")), ids=lambda p: p.name)
def test_real_rest_responses_parse(path: Path) -> None:
    body = loads(path.read_text(encoding="utf-8"))["body"]
    if path.name.startswith("variations-batch"):
        parsed = [Product.model_validate(x) for x in body["update"]]
    elif isinstance(body, list):
        parsed = [_model_for(path.name).model_validate(x) for x in body]
    else:
        parsed = [_model_for(path.name).model_validate(body)]
    assert parsed


def _deliveries() -> list[Path]:
    return sorted((REAL / "webhooks").glob("*.json")) + sorted((REAL / "webhooks-sync").glob("*.json"))


@pytest.mark.parametrize("path", _deliveries(), ids=lambda p: p.name)
def test_real_webhook_bodies_verify_and_parse(path: Path) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    raw = data["body"].encode("utf-8")
    topic = data["headers"].get("X-WC-Webhook-Topic")
    if topic is None:
        assert raw.startswith(b"webhook_id=")  # the unsigned, form-encoded ping
        return
    assert verify(raw, data["headers"]["X-WC-Webhook-Signature"], REAL_SECRET)
    body = loads(raw)
    if topic.startswith("order."):
        order = Order.model_validate(body)
        assert isinstance(order.total, Decimal)
    elif topic.startswith("product."):
        Product.model_validate(body)
    else:
        assert body["action"] == "woocommerce_order_refunded"


def test_real_order_money_is_decimal() -> None:
    order = Order.model_validate(loads((REAL / "rest" / "order.json").read_text())["body"])
    assert order.total == Decimal("428.80") and order.total_tax == Decimal("85.76")
    assert order.line_items[0].price == Decimal("71.28")


@pytest.mark.parametrize("raw", [
    b'{"a":1.5,"b":[2,"3.10"]}', b'\xef\xbb\xbf{"a":1}', '\ufeff{"a":1}', b'{"a":NaN}', b'[1e400]',
    b'{"a": "\\ud800"}', '{"a":1}'.encode("utf-16-le"), b'{"a":1', b'', b'\xff{}', '{"\u00f8":"\u00e6"}'.encode(),
])  # fmt: skip
def test_loads_answers_as_json_loads_with_decimals_does(raw: bytes | str) -> None:
    """``loads`` keeps one decoder (issue 17): same values, same errors as ``json.loads(raw, parse_float=Decimal)``."""

    def outcome(parse: Any) -> tuple[str, str]:
        try:
            return "ok", repr(parse(raw))
        except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
            return type(exc).__name__, str(exc)

    assert outcome(loads) == outcome(lambda r: json.loads(r, parse_float=Decimal))


@pytest.mark.parametrize("name", ["order-processing-dk.json", "order-partially-refunded-dk.json",
                                  "order-subscription-renewal.json"])
def test_synthetic_orders_parse(name: str) -> None:
    Order.model_validate(loads((SYNTHETIC / name).read_text(encoding="utf-8")))


def test_synthetic_resources_parse() -> None:
    read = lambda name: loads((SYNTHETIC / name).read_text(encoding="utf-8"))  # noqa: E731
    Refund.model_validate(read("refund-dk.json"))
    Customer.model_validate(read("customer.json"))
    for name in ("product-simple.json", "product-variable.json", "product-variation.json"):
        Product.model_validate(read(name))
    signed = read("webhook-delivery-order-updated-signed.json")
    assert isinstance(signed, dict)
