"""Stock: Dynaccount is master; its stock is written back into WooCommerce, only what changed, loop-proof.

``diff`` (pure: what changed, what to write where), ``shop`` (the paged Dynaccount read and the SKU
lookup in the shop), ``room`` (one run, and the loop: interval, after bookings, on demand), ``echo`` (what
a ``product.updated`` means). Its SQL is ``agent.journal.stock``; its HTTP edge ``agent.web.stock``.
"""

from __future__ import annotations

TOPICS = ("product.updated",)  # the webhook the stock job needs: echoes of its writes and edits in the shop
