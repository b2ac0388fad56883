"""Planner CPU cost of booking to the øre (issue 12): the full ``plan_invoice`` (VAT per code fitted
exactly, one line per rate) against a baseline that only builds the lines and predicts Dynaccount's
totals (what the planner did before), on the same seeded orders built by the WooCommerce sandbox:

    .venv/bin/python bench/planner.py [-n 2000]

Prints µs per order for both and the ratio; the order building itself is outside the timings.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.plan import PlanSettings, plan_invoice
from agent.plan.debtor import vat_number
from agent.plan.lines import order_lines
from agent.plan.totals import predict
from agent.plan.vat import OrderVat
from agent.woo.models import Order
from tests.plan.shapes import build_order
from tests.plan.test_books import _random_cart


def _baseline(order: Order, settings: PlanSettings) -> None:
    lines = order_lines(order, settings, OrderVat(order, settings, vat_number(order, settings.debtors)))
    predict(lines)


def _time(orders: list[Order], settings: PlanSettings, full: bool) -> float:
    start = time.process_time()
    for order in orders:
        if full:
            plan_invoice(order, settings)
        else:
            _baseline(order, settings)
    return (time.process_time() - start) / len(orders) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=2000)
    args = parser.parse_args()
    rng = random.Random(12)
    orders = [build_order(_random_cart(rng, n)) for n in range(args.n)]
    settings = PlanSettings()
    base, full = _time(orders, settings, False), _time(orders, settings, True)
    print(f"orders: {len(orders)}")
    print(f"baseline (lines + predicted totals): {base:8.1f} µs/order")
    print(f"plan_invoice (VAT per code exact):   {full:8.1f} µs/order  ratio {full / base:.2f}")


if __name__ == "__main__":
    main()
