"""Orders from CSV or XML files (issue 18): read, build WooCommerce-shaped orders, store, book like any order."""
