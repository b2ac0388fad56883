"""Is this something a mail can be sent to? Deliberately strict: a mail to a typo bounces at the
shop's own server, and a header injection must never reach SMTP."""

from __future__ import annotations

import re

# local@domain.tld, no spaces, no angle brackets, no line breaks; the domain has a dot and a TLD.
_ADDRESS = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                      r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}$")  # fmt: skip


def valid_address(value: str) -> bool:
    return len(value) <= 254 and bool(_ADDRESS.match(value)) and ".." not in value


def domain_of(address: str) -> str:
    return address.rpartition("@")[2] or "localhost"
