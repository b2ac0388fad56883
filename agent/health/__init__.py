"""The outside systems as the agent sees them, and the problems an owner is told about."""
