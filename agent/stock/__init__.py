"""Stock: Dynaccount is master; its stock is written back into WooCommerce, only what changed, loop-proof.

``install(app)`` is the one call the composition root makes: routes, and a cleanup context that builds
the stock job once the clients exist, hooks it into intake (echoes), the worker (``product.updated``)
and the applier (a debounced run after each booking), and starts its loop.
"""

from __future__ import annotations

from agent.stock.hooks import install

__all__ = ["install"]
