"""The applier: executes plans against Dynaccount and owns every link and intent write of an order."""

from __future__ import annotations

from agent.apply.documents import Applier

__all__ = ["Applier"]
