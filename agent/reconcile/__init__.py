"""Books beside the shop for a period, and the quarter's EU One-Stop-Shop figures.

``places`` reads (country, rate) from a Dynaccount VAT code; ``documents`` and ``compare`` are pure;
``gather`` reads both systems; ``oss`` and ``render`` turn the results into tables, CSV and JSON.
"""

from __future__ import annotations

from agent.reconcile.compare import Difference, Report, reconcile
from agent.reconcile.gather import Gatherer, Period, open_gatherer
from agent.reconcile.oss import OssReport, oss_report, parse_quarter

__all__ = [
    "Difference", "Gatherer", "OssReport", "Period", "Report", "open_gatherer", "oss_report", "parse_quarter",
    "reconcile",
]
