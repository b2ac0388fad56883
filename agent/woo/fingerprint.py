"""What about an order matters to the books, as one hash.

The sweep's "already seen" used ``date_modified_gmt``, which has whole seconds: an order paid in the
second the agent first saw it looked unchanged forever once its update delivery was dropped. The
fingerprint covers the order as the REST API shows it (status, totals, date paid, lines, refunds,
addresses, meta) except the modification times, which say when, not what.
"""

from __future__ import annotations

import hashlib
import json

from agent.woo.models import Order

IGNORED = frozenset({"date_modified", "date_modified_gmt"})


def order_fingerprint(order: Order) -> str:
    data = order.model_dump(mode="json", exclude=set(IGNORED))
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
