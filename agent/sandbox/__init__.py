"""Stand-ins for WooCommerce and Dynaccount, and the demo. Nothing in production imports this package."""
