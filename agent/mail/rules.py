"""Who gets a document by mail: pure rules over the booked plan's debtor and payment method."""

from __future__ import annotations

from typing import Any

from agent.address import valid_address
from agent.config_mail import MailConfig


def skip_reason(cfg: MailConfig, debtor: dict[str, Any], payment_method: str) -> str | None:
    """Why this document is not mailed, or None when it is."""
    group = str(debtor.get("group") or "")
    if group and group in cfg.skip_debtor_groups:
        return f"not mailed: debtor group {group} is in [mail] skip_debtor_groups"
    if payment_method and payment_method in cfg.skip_payment_methods:
        return f"not mailed: payment method {payment_method} is in [mail] skip_payment_methods"
    email = str(debtor.get("email") or "").strip()
    if not email:
        return "not mailed: the customer has no e-mail address"
    if not valid_address(email):
        return f"not mailed: {email!r} is not a valid e-mail address"
    return None
