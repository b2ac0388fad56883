"""WooCommerce client library: signatures, models, REST client, OAuth, errors, stock writes.

Imports nothing from the rest of ``agent``.
"""
