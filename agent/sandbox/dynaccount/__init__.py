"""A local Dynaccount v7 API for tests and the demo (see server.py)."""
