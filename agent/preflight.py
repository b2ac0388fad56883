"""``check --online`` and the same check at start: both systems called, every wrong thing named.

WooCommerce: the keys (a read, and a harmless write probe: WooCommerce refuses writes with a read-only
key before it routes the request), the agent's webhooks. Dynaccount: the keys, every VAT code with its
rate (the same rule as ``check --dynaccount``), every product, debtor group, payment terms and booking
draft the configuration names. Each finding says what is wrong and where to fix it; the webhook secret
cannot be read back from WooCommerce (a delivery signed with another secret shows as "rejected").
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from agent.config import Config
from agent.dynaccount.client import DynaccountClient
from agent.dynaccount.errors import DynaccountAuthError, DynaccountError
from agent.plan.vatcheck import problems as vat_problems
from agent.services import Services
from agent.sweep import TOPICS
from agent.woo.client import WooClient
from agent.woo.errors import WooAuthError, WooError
from agent.woo.resources import Webhook

WEBHOOK_PATH = "/webhooks/woocommerce"
WOO_KEYS = "[woocommerce] consumer_key/consumer_secret (WooCommerce > Settings > Advanced > REST API)"
DYN_KEYS = "[dynaccount] api_id/api_key/api_secret (Dynaccount: Administration > Virksomheder > API)"


@dataclass(frozen=True)
class Finding:
    system: str  # WooCommerce | Dynaccount
    problem: str  # what is wrong, and where to fix it

    def __str__(self) -> str:
        return f"{self.system}: {self.problem}"


async def online_check(services: Services, *, webhooks: bool = True) -> list[Finding]:
    """Everything wrong that one call to each system can find; an empty list means ready.

    ``webhooks=False``: leave the webhooks out (at start, when the sweep creates and heals them itself)."""
    woo = await woo_findings(services.woo, services.config, webhooks=webhooks)
    return woo + await dynaccount_findings(services.dyn, services.config)


async def woo_findings(woo: WooClient, config: Config, *, webhooks: bool = True) -> list[Finding]:
    def found(problem: str) -> list[Finding]:
        return [Finding("WooCommerce", problem)]

    try:
        hooks = await woo.list_webhooks()
    except WooAuthError as exc:
        return found(f"the API keys are refused ({exc}): check {WOO_KEYS}")
    except WooError as exc:
        return found(f"not reachable at {config.woocommerce.url} ({exc}): check [woocommerce] url")
    out: list[Finding] = []
    try:  # an empty batch writes nothing, but WooCommerce checks the key's write permission first
        await woo.request("POST", "webhooks/batch", json={})
    except WooAuthError:
        out += found(f"the API key is read-only: give it Read/Write permission ({WOO_KEYS})")
    except WooError:
        pass  # any other answer means the write was allowed
    if webhooks:
        out += [Finding("WooCommerce", p) for p in _webhook_problems(hooks, config.woocommerce.webhook_url)]
    return out


def _webhook_problems(hooks: list[Webhook], url: str | None) -> list[str]:
    if url is None:
        ours = [h for h in hooks if h.delivery_url.rstrip("/").endswith(WEBHOOK_PATH)]
        if not ours:
            return [f"no webhook delivers to the agent (…{WEBHOOK_PATH}): set [woocommerce] webhook_url so the agent "
                    "creates them, or add them under WooCommerce > Settings > Advanced > Webhooks"]  # fmt: skip
        return [f"webhook {h.id} ({h.topic}) is {h.status}: activate it under WooCommerce > Settings > Advanced > "
                "Webhooks" for h in ours if h.status != "active"]  # fmt: skip
    problems = []
    for topic in TOPICS:
        mine = [h for h in hooks if h.delivery_url == url and h.topic == topic]
        if not mine:
            problems.append(f"no webhook for {topic} delivers to {url}: the agent creates it at start "
                            "(or run `dynaccount-agent webhooks --heal`)")  # fmt: skip
        elif not any(h.status == "active" for h in mine):
            problems.append(f"the webhook for {topic} is {mine[0].status}: the agent re-activates it at start "
                            "(or run `dynaccount-agent webhooks --heal`)")  # fmt: skip
    return problems


def _wanted(config: Config) -> list[tuple[str, str, str]]:
    """(kind, name, setting) of every product, group, payment terms and draft that must exist."""
    p, d = config.products, config.debtors
    wanted = [("product", getattr(p, n), f"[products] {n}") for n in
              ("fallback", "shipping", "fee", "discount", "rounding", "refund")]  # fmt: skip
    wanted += [("debtor group", k.group, f"[debtors] {n}.group") for n, k in (("b2c", d.b2c), ("b2b", d.b2b),
                                                                              ("ean", d.ean))]  # fmt: skip
    terms = {config.invoice.default_payment_terms, *config.invoice.payment_terms_by_method.values()}
    wanted += [("payment terms", t, "[invoice] default_payment_terms / payment_terms_by_method") for t in sorted(terms)]
    wanted.append(("booking draft", config.dynaccount.payment_draft, "[dynaccount] payment_draft"))
    return wanted


async def dynaccount_findings(dyn: DynaccountClient, config: Config) -> list[Finding]:
    try:
        known_codes = {v.name: v.rate for v in await dyn.list_vatcodes()}
    except DynaccountAuthError as exc:
        return [Finding("Dynaccount", f"the API keys are refused ({exc}): check {DYN_KEYS}")]
    except DynaccountError as exc:
        return [Finding("Dynaccount", f"not reachable at {config.dynaccount.base_url} ({exc}): check [dynaccount] "
                                      "base_url")]  # fmt: skip
    out = [Finding("Dynaccount", problem) for problem in vat_problems(config.vat, known_codes)]  # as check --dynaccount
    terms = {t.name for t in await dyn.list_payment_terms()}
    lookups: dict[str, Callable[[str], Awaitable[Any]]] = {
        "product": dyn.find_product, "debtor group": dyn.get_debtor_group,
        "booking draft": lambda name: _first(dyn.get("draft", select=("id",), filters={"name": name})),
    }  # fmt: skip
    for kind, name, where in _wanted(config):
        exists = name in terms if kind == "payment terms" else await lookups[kind](name) is not None
        if not exists:
            out.append(Finding("Dynaccount", f"{kind} {name!r} ({where}) does not exist: create it in Dynaccount or "
                                             f"change {where}"))  # fmt: skip
    return out


async def _first(rows: Awaitable[list[Any]]) -> Any:
    found = await rows
    return found[0] if found else None
