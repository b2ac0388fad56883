"""The one parser for resource ids and work keys, used at intake, by the API and by the CLI.

A WooCommerce id is a plain positive integer written in ASCII digits without leading zeros:
``order:32`` and ``order:032`` must never be two pieces of work for one order (two invoices), so
anything else — ``0032``, ``²``, ``٣``, ``+3``, `` 3``, 5,000 digits — is not an id at all.
"""

from __future__ import annotations

import re

# Kinds of work the agent knows (``agent.web.intake`` maps webhook topics onto these).
WORK_KINDS = frozenset({"order", "product", "variation", "customer", "subscription"})
# 2**63 - 1 has 19 digits: WooCommerce ids are MySQL BIGINT UNSIGNED at most, so 20 digits bound them.
MAX_DIGITS = 20
_ID = re.compile(rf"[1-9][0-9]{{0,{MAX_DIGITS - 1}}}", re.ASCII)


def parse_id(value: object) -> int | None:
    """The id as an int, or None unless ``value`` is a positive int or its canonical ASCII spelling."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value < 10**MAX_DIGITS else None
    if isinstance(value, str) and _ID.fullmatch(value):
        return int(value)
    return None


def work_key(kind: str, resource_id: object) -> str | None:
    """``kind:id`` for a known kind and a canonical id, else None."""
    rid = parse_id(resource_id)
    if kind not in WORK_KINDS or rid is None:
        return None
    return f"{kind}:{rid}"


# Orders from files (agent/files): ``file:<source>:<order number as the file writes it>``; the source is a
# mapping's (config_files validates it), the number printable text, so the key is its own canonical form.
_FILE_KEY = re.compile(r"file:[A-Za-z0-9_-]{1,40}:[^\x00-\x1f\x7f]{1,100}")


def parse_work_key(key: str) -> str | None:
    """The key itself when it is canonical (``order:17``), else None (``order:017``, ``x:1``, ``../order:1``)."""
    if key.startswith("file:"):
        return key if _FILE_KEY.fullmatch(key) else None
    kind, sep, rid = key.partition(":")
    if not sep:
        return None
    canonical = work_key(kind, rid)
    return canonical if canonical == key else None


def order_id_arg(text: str) -> int:
    """argparse ``type=`` for an order id on the command line."""
    rid = parse_id(text)
    if rid is None:
        import argparse

        raise argparse.ArgumentTypeError(f"{text!r} is not an order id (a plain positive number like 17)")
    return rid
