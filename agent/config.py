"""Configuration: one frozen pydantic model per TOML table, unknown keys refused.

``load_config(path)`` raises :class:`ConfigError` whose message names every wrong key and what is
wrong with it, so ``dynaccount-agent check`` can print it without a traceback.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from agent.config_files import FilesConfig
from agent.config_mail import AlertsConfig, MailConfig
from agent.plan.mapping import MappingSettings
from agent.plan.plausible import PlausibilitySettings
from agent.plan.references import name_from_url
from agent.plan.settings import (
    DebtorSettings,
    FilterSettings,
    InvoiceSettings,
    PaymentSettings,
    PlanSettings,
    ProductSettings,
    RefundSettings,
    ShopSettings,
    TriggerSettings,
    VatSettings,
)

DEFAULT_PATH = Path("config.toml")
ENV_VAR = "DYNACCOUNT_AGENT_CONFIG"


class ConfigError(Exception):
    """A configuration file that cannot be used; ``str()`` is meant for the user."""


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerConfig(_Table):
    host: str = Field("127.0.0.1", description="Address the webhook endpoint and status page listen on.")
    port: int = Field(8787, ge=1, le=65535, description="TCP port to listen on.")
    max_body_bytes: int = Field(
        5 * 1024 * 1024, ge=1024, description="Largest webhook body accepted; larger ones get 413."
    )
    timezone: str = Field("Europe/Copenhagen", description="The shop's time zone: the status page shows times in it.")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (an IANA name such as Europe/Copenhagen)") from None
        return value

    allowed_hosts: list[str] = Field(
        [], description="Host names the page and API answer to (empty: host, localhost, 127.0.0.1, ::1)."
    )
    auth_token: SecretStr = Field(SecretStr(""), description="Bearer token the page and API require (empty: none).")
    auth_user: str = Field("", description="Basic-auth user the page and API require (with auth_password).")
    auth_password: SecretStr = Field(SecretStr(""), description="Basic-auth password (with auth_user).")
    header_timeout_seconds: float = Field(
        10.0, gt=0, description="A connection that sends no complete request within this is closed."
    )
    body_timeout_seconds: float = Field(30.0, gt=0, description="A request body not read within this gets 408.")
    unsigned_per_minute: int = Field(
        30, ge=1, description="Unsigned webhook requests (pings, forgeries) answered per minute; more get 429."
    )

    @model_validator(mode="after")
    def _basic_pair(self) -> ServerConfig:
        if bool(self.auth_user) != bool(self.auth_password.get_secret_value()):
            raise ValueError("auth_user and auth_password go together")
        return self


class JournalConfig(_Table):
    path: Path = Field(Path("data/agent.sqlite3"), description="SQLite journal file (created if missing).")
    synchronous: Literal["FULL", "NORMAL"] = Field(
        "FULL", description="SQLite synchronous mode; FULL survives power loss after an acknowledged delivery."
    )
    keep_days: float = Field(
        90, ge=0, description="Snapshots and timeline events older than this are pruned (0 keeps them forever)."
    )


class WooCommerceConfig(_Table):
    url: str = Field(description="The shop's base URL, e.g. https://shop.example.dk")
    consumer_key: SecretStr = Field(description="REST API consumer key (ck_…), read/write.")
    consumer_secret: SecretStr = Field(description="REST API consumer secret (cs_…).")
    webhook_secret: SecretStr = Field(description="Secret the agent's webhooks are signed with.")
    ca_file: Path | None = Field(None, description="CA bundle for a shop with a self-signed certificate.")
    webhook_url: str | None = Field(
        None, description="URL WooCommerce delivers to; when set, the agent creates and heals its webhooks."
    )
    timeout_seconds: float = Field(30.0, gt=0, description="Timeout for one REST call.")

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("webhook_secret")
    @classmethod
    def _non_empty(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 8:
            raise ValueError("must be at least 8 characters")
        return value


class DynaccountConfig(_Table):
    api_id: int = Field(gt=0, description="API_ID of the Dynaccount accounts (Administration > Virksomheder).")
    api_key: SecretStr = Field(description="API_KEY, 40 characters.")
    api_secret: SecretStr = Field(description="API_SECRET, 40 characters; never sent, only used for X-Hash.")
    base_url: str = Field("https://api.dynaccount.com", description="Dynaccount API base URL.")
    timeout_seconds: float = Field(30.0, gt=0, description="Timeout for one API call.")
    max_parallel_calls: int = Field(
        1, ge=1, le=16, description="Dynaccount calls in flight at once (A-14: serialised unless raised)."
    )
    payment_account: str = Field("5820", description="Bank/clearing account payments are booked on by default.")
    payment_draft: str = Field("Webshop", description="Booking draft (kladde) payment vouchers are put in.")


class WorkerConfig(_Table):
    concurrency: int = Field(4, ge=1, le=64, description="Orders processed in parallel.")
    poll_seconds: float = Field(1.0, gt=0, description="How often the worker looks for due work when idle.")
    backoff_base_seconds: float = Field(5.0, gt=0, description="First retry delay after a transient error.")
    backoff_cap_seconds: float = Field(3600.0, gt=0, description="Longest delay between retries.")
    max_attempts: int = Field(
        12, ge=1, description="Transient failures without progress before retries slow down to slow_retry_seconds."
    )
    slow_retry_seconds: float = Field(
        3600.0, gt=0, description="Retry interval once max_attempts is used up (transient errors never fail an item)."
    )


class SweepConfig(_Table):
    enabled: bool = Field(True, description="Poll WooCommerce for orders the webhooks missed.")
    interval_seconds: float = Field(300.0, gt=0, description="Time between two reconciliation polls.")
    overlap_seconds: float = Field(120.0, ge=0, description="How far each poll reaches back before the last one.")
    lookback_hours: float = Field(24.0, ge=0, description="How far the very first poll reaches back.")


class StockConfig(_Table):
    enabled: bool = Field(True, description="Write Dynaccount's stock into WooCommerce (Dynaccount is master).")
    interval_seconds: float = Field(900.0, gt=0, description="Time between two stock runs.")
    after_booking_seconds: float = Field(
        30.0, ge=0, description="A run this long after the agent books an invoice or credit note (debounced)."
    )
    quantity: Literal["in_stock", "available"] = Field(
        "in_stock", description='What the shop sees: "in_stock", or "available" = in_stock - in_order (A-35).'
    )
    enable_stock_management: bool = Field(
        False, description="Switch stock management on for shop items that have it off (default: leave them alone)."
    )


class Config(_Table):
    server: ServerConfig = ServerConfig()
    journal: JournalConfig = JournalConfig()
    woocommerce: WooCommerceConfig
    dynaccount: DynaccountConfig
    worker: WorkerConfig = WorkerConfig()
    sweep: SweepConfig = SweepConfig()
    stock: StockConfig = StockConfig()
    triggers: TriggerSettings = TriggerSettings()
    filters: FilterSettings = FilterSettings()
    debtors: DebtorSettings = DebtorSettings()
    products: ProductSettings = ProductSettings()
    vat: VatSettings = VatSettings()
    invoice: InvoiceSettings = InvoiceSettings()
    payments: PaymentSettings = PaymentSettings()
    refunds: RefundSettings = RefundSettings()
    shop: ShopSettings = ShopSettings()
    mapping: MappingSettings = MappingSettings()
    plausibility: PlausibilitySettings = PlausibilitySettings()
    mail: MailConfig = MailConfig()
    alerts: AlertsConfig = AlertsConfig()
    files: FilesConfig = FilesConfig()

    @property
    def plan(self) -> PlanSettings:
        """The planner's settings, read from their own tables."""
        return PlanSettings(
            triggers=self.triggers, filters=self.filters, debtors=self.debtors, products=self.products,
            vat=self.vat, invoice=self.invoice, payments=self.payments, refunds=self.refunds, shop=self.shop,
            mapping=self.mapping, plausibility=self.plausibility,
        )

    @model_validator(mode="after")
    def _shop_name(self) -> Config:
        # Not set: the shop's host names it, so two shops never share a name by default.
        if "name" not in self.shop.model_fields_set:
            shop = self.shop.model_copy(update={"name": name_from_url(self.woocommerce.url)})
            object.__setattr__(self, "shop", shop)
        return self


def resolve_path(explicit: str | Path | None) -> Path:
    """``--config`` wins, then ``$DYNACCOUNT_AGENT_CONFIG``, then ``./config.toml``."""
    if explicit:
        return Path(explicit)
    env = os.environ.get(ENV_VAR)
    return Path(env) if env else DEFAULT_PATH


def load_config(path: str | Path) -> Config:
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file (use --config PATH or ${ENV_VAR})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return parse_config(raw, source=str(path))


def parse_config(raw: dict[str, Any], source: str = "config") -> Config:
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{source}: invalid configuration\n{format_errors(exc)}") from None
    if config.dynaccount.base_url.startswith("http://") and not _is_loopback(config.dynaccount.base_url):
        raise ConfigError(f"{source}: dynaccount.base_url: plain http is only allowed on loopback")
    return config


def format_errors(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = "unknown key (not a setting; check the spelling against config.example.toml)"
        elif err["type"] == "missing":
            message = "required key is missing"
        lines.append(f"  {key}: {message}")
    return "\n".join(lines)


def permission_warnings(path: Path) -> list[str]:
    """The config holds the API secrets: other users of the machine must not read (or change) it."""
    mode = path.stat().st_mode & 0o777
    if not mode & 0o006:
        return []
    what = "readable and writable" if mode & 0o002 else "readable"
    return [f"{path} is {what} by every user of this machine (mode {mode:04o}) and holds the API secrets: "
            f"chmod 600 {path} (or chmod 640 with the agent's group as the file's group)"]  # fmt: skip


def _is_loopback(url: str) -> bool:
    host = url.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[0]
    return host in {"localhost", "127.0.0.1", "[::1]"} or host.startswith("127.")
