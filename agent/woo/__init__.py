"""WooCommerce client library: signatures, models, REST client, errors, sandbox.

Imports nothing from the rest of ``agent``.
"""
