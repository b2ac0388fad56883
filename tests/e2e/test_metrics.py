"""``/metrics`` over real HTTP, parsed by prometheus_client's own parser."""

from __future__ import annotations

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from agent.app import JOURNAL
from agent.clock import ManualClock
from agent.journal.stock import StockJournal
from agent.sandbox.demo import Stack, place_orders

from .conftest import drive  # type: ignore[import-not-found]

P = "dynaccount_agent_"


async def scrape(stack: Stack) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    async with aiohttp.ClientSession() as session, session.get(f"{stack.agent_url}/metrics") as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = await resp.text()
    samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def total(samples: dict[tuple[tuple[str, str], ...], float], **labels: str) -> float:
    return sum(v for k, v in samples.items() if set(labels.items()) <= set(k))


async def forged_delivery(stack: Stack) -> None:
    async with aiohttp.ClientSession() as session:
        headers = {"X-WC-Webhook-Topic": "order.created", "X-WC-Webhook-Signature": "Zm9yZ2Vk"}
        async with session.post(f"{stack.agent_url}/webhooks/woocommerce", data=b'{"id": 1}', headers=headers) as r:
            assert r.status == 401


async def test_metrics_count_work_calls_rejections_and_waiting(stack: tuple[Stack, ManualClock]) -> None:
    s, clock = stack
    ids = await place_orders(s, 3)
    await drive(s, clock)
    await forged_delivery(s)
    m = await scrape(s)
    assert m[P + "work_items"][(("state", "done"),)] == 3
    assert m[P + "work_items"][(("state", "pending"),)] == 0
    assert m[P + "deliveries_rejected_total"][(("reason", "bad_signature"),)] == 1
    assert total(m[P + "deliveries_total"], state="queued") >= 3
    calls = m[P + "outside_calls_total"]
    assert total(calls, system="dynaccount", method="put/debtor_invoice", outcome="ok") == 3
    assert total(calls, system="woocommerce", method="GET orders/{id}", outcome="ok") >= 3
    assert total(m[P + "outside_call_duration_seconds_count"], system="dynaccount", method="put/debtor_invoice") == 3
    assert m[P + "outside_up"] == {(("system", "dynaccount"),): 1.0, (("system", "woocommerce"),): 1.0}
    assert m[P + "worker_last_run_timestamp_seconds"][()] == clock.now()
    assert m[P + "worker_processed_total"][()] >= len(ids)
    assert set(m[P + "mail_outbox"]) >= {(("state", "sent"),), (("state", "failed"),)}  # the mail room's counts
    stock = await StockJournal(s.app[JOURNAL]).counts()  # the stock room's counts, as /stock shows them
    assert {labels[0][1]: n for labels, n in m.get(P + "stock_items", {}).items()} == stock
    assert set(m[P + "sweep_last_run_failed"]) == {(("job", job.name),) for job in s.services.sweep.jobs}
    assert {"reconcile_orders", "webhook_health", "drafts_watch"} <= {job.name for job in s.services.sweep.jobs}

    # Dynaccount down: the order waits, the calls show their outcome, the age grows with the clock
    s.dyn.faults.force("5xx", times=1000)
    await place_orders(s, 1, seed=3)
    await s.woo.wait_idle()
    await s.services.worker.run_once()
    clock.advance(250)
    m = await scrape(s)
    assert m[P + "work_items"][(("state", "pending"),)] == 1
    assert m[P + "oldest_pending_age_seconds"][()] == 250
    assert total(m[P + "outside_calls_total"], system="dynaccount", outcome="unavailable") >= 1
    assert m[P + "outside_up"][(("system", "dynaccount"),)] == 0
    assert m[P + "worker_errors_total"][()] == 1
    # a retry of the waiting item does not reset how long it has waited
    clock.advance(s.config.worker.backoff_cap_seconds + 1)
    await s.services.worker.run_once()
    m = await scrape(s)
    assert m[P + "oldest_pending_age_seconds"][()] == 250 + s.config.worker.backoff_cap_seconds + 1
