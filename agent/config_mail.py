"""The ``[mail]`` and ``[alerts]`` tables: the shop's own SMTP server and the owner's alerts."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from agent.address import valid_address


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MailConfig(_Table):
    host: str = Field("", description="SMTP server of the shop's domain; empty: the agent sends no mail at all.")
    port: int = Field(587, ge=1, le=65535, description="SMTP port (587 STARTTLS, 465 TLS, 25 plain).")
    security: Literal["starttls", "tls", "none"] = Field(
        "starttls", description="starttls (upgrade after connecting), tls (TLS from the start) or none (loopback only)."
    )
    username: str = Field("", description="SMTP login; empty: no AUTH.")
    password: SecretStr = Field(SecretStr(""), description="SMTP password; never logged or shown.")
    ca_file: Path | None = Field(None, description="CA bundle for a server with a self-signed certificate.")
    from_address: str = Field("", description="Sender address, e.g. shop@example.dk (required when host is set).")
    from_name: str = Field("", description="Sender name shown to the customer, e.g. the shop's name.")
    reply_to: str = Field("", description="Reply-To address; empty: replies go to from_address.")
    bcc: list[str] = Field([], description="Blind copies of every customer mail, e.g. the bookkeeper.")
    timeout_seconds: float = Field(30.0, gt=0, description="Timeout for connecting and for each SMTP command.")
    send_invoices: bool = Field(True, description="Mail each booked invoice to the customer with its PDF.")
    send_creditnotes: bool = Field(False, description="Mail each booked credit note too.")
    skip_payment_methods: list[str] = Field(
        [], description="WooCommerce payment method ids whose invoices are not mailed."
    )
    skip_debtor_groups: list[str] = Field(
        ["EAN"], description="Debtor groups not mailed (EAN customers get their invoices through NemHandel)."
    )
    templates_dir: Path | None = Field(
        None, description="A folder with your own copies of templates/email/ (same names); missing files fall back."
    )
    shop_name: str = Field("", description="Shop name in the mails ({{ shop.name }}); empty: from_name.")
    shop_url: str = Field("", description="Shop address in the mails ({{ shop.url }}).")
    default_language: Literal["da", "en"] = Field("da", description="Language when the debtor's is neither da nor en.")
    retry_base_seconds: float = Field(60.0, gt=0, description="First retry after a 4xx answer or a lost connection.")
    retry_cap_seconds: float = Field(3600.0, gt=0, description="Longest wait between two tries of one mail.")
    max_attempts: int = Field(24, ge=1, description="Tries before a mail that keeps getting 4xx is marked failed.")
    poll_seconds: float = Field(5.0, gt=0, description="How often the mail worker looks for due mail when idle.")

    @field_validator("from_address", "reply_to")
    @classmethod
    def _address(cls, value: str) -> str:
        if value and not valid_address(value):
            raise ValueError("is not an e-mail address")
        return value

    @field_validator("bcc")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        bad = [a for a in value if not valid_address(a)]
        if bad:
            raise ValueError(f"not e-mail addresses: {', '.join(bad)}")
        return value

    @model_validator(mode="after")
    def _complete(self) -> MailConfig:
        if self.host and not self.from_address:
            raise ValueError("from_address is required when host is set")
        loopback = self.host in {"localhost", "::1"} or self.host.startswith("127.")
        if self.security == "none" and self.username and not loopback:
            raise ValueError('security = "none" would send the password in clear text; use starttls or tls')
        return self

    @property
    def enabled(self) -> bool:
        return bool(self.host)


class AlertsConfig(_Table):
    to: list[str] = Field([], description="The owner's addresses for alerts (sent through [mail]); empty: no alerts.")
    after_minutes: float = Field(
        5.0, ge=0, description="Dynaccount/WooCommerce unreachable or refusing the keys this long before a mail."
    )
    digest_minutes: float = Field(60.0, gt=0, description="At most one digest of changed incidents this often.")
    check_seconds: float = Field(30.0, gt=0, description="How often incidents are looked at.")
    language: Literal["da", "en"] = Field("en", description="Language of the alert mails.")

    @field_validator("to")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        bad = [a for a in value if not valid_address(a)]
        if bad:
            raise ValueError(f"not e-mail addresses: {', '.join(bad)}")
        return value
