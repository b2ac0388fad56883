"""Alerts to the owner: one mail when an incident starts, one when it ends, digests rate-limited."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from agent.app import JOURNAL
from agent.clock import ManualClock
from agent.config_mail import AlertsConfig, MailConfig
from agent.health.problems import Problem
from agent.journal import Journal
from agent.journal.mail import MailJournal
from agent.mail.alerts import AlertEngine
from agent.mail.app import MAIL
from agent.sandbox.demo import Stack, place_orders

from .conftest import drive, mail_worker  # type: ignore[import-not-found]
from .smtpkit import mail_settings, smtp_server  # type: ignore[import-not-found]

MakeStack = Callable[..., AbstractAsyncContextManager[Stack]]
OWNER = "owner@example.dk"


def alert_subjects(stack_server: object) -> list[str]:
    received = stack_server.recorder.received  # type: ignore[attr-defined]
    return [r.message["Subject"] for r in received if r.recipients == [OWNER]]


async def test_dynaccount_down_ten_minutes_gives_one_down_and_one_recovered_mail(mail_stack: MakeStack,
                                                                                  clock: ManualClock) -> None:  # fmt: skip
    alerts = {"to": [OWNER], "after_minutes": 5.0, "digest_minutes": 60.0}
    async with smtp_server() as server, mail_stack(clock, mail=mail_settings(server.port), alerts=alerts) as stack:
        engine = stack.app[MAIL].alerts
        assert engine is not None
        stack.dyn.faults.config.error_5xx = 1.0  # every Dynaccount call answers 503
        await place_orders(stack, 1)
        await stack.woo.wait_idle()
        for _minute in range(10):
            await stack.services.worker.run_once()
            await engine.tick()
            await mail_worker(stack).run_once()
            clock.advance(60)
        assert alert_subjects(server) == ["[Kaffe & Co] Problem: Dynaccount is unreachable"]
        stack.dyn.faults.config.error_5xx = 0.0
        await drive(stack, clock)
        for _minute in range(3):
            await engine.tick()
            await mail_worker(stack).run_once()
            clock.advance(60)
        assert alert_subjects(server) == ["[Kaffe & Co] Problem: Dynaccount is unreachable",
                                          "[Kaffe & Co] Resolved: Dynaccount is unreachable"]  # fmt: skip
        down = next(r.message for r in server.recorder.received if r.recipients == [OWNER])
        assert "DynaccountUnavailable" in down.get_content() and down["Auto-Submitted"] == "auto-generated"
        assert len(server.recorder.received) == 3  # and the customer's invoice, once
        assert await MailJournal(stack.app[JOURNAL]).open_incidents() == []


async def test_short_outage_sends_nothing_and_changes_come_as_rate_limited_digests(tmp_path: object) -> None:
    from pathlib import Path

    clock = ManualClock()
    journal = await Journal.open(Path(str(tmp_path)) / "j.sqlite3", clock=clock)
    current: list[Problem] = []

    async def source() -> list[Problem]:
        return list(current)

    engine = AlertEngine(journal, AlertsConfig(to=[OWNER], after_minutes=5, digest_minutes=30),
                         MailConfig(host="127.0.0.1", from_address="shop@example.dk"), clock, [source],
                         agent_name="Shop", status_url="http://127.0.0.1:8787/")  # fmt: skip
    outbox = MailJournal(journal)

    async def refs() -> list[str]:
        return sorted(m.reference.rsplit(":", 1)[-1] if "digest" not in m.reference else "digest"
                      for m in await outbox.recent())  # fmt: skip

    current[:] = [Problem("woocommerce-down", "WooCommerce is unreachable", "timeout", clock.now(), 300)]
    for _ in range(4):  # down for 4 minutes only: no mail
        await engine.tick()
        clock.advance(60)
    current.clear()
    await engine.tick()
    assert await refs() == []
    for n in range(1, 61):  # items failing one after another for an hour: one start mail, then digests
        current[:] = [Problem("items-failed", "Orders failed", f"{n} item(s) failed", clock.now() - 60 * n)]
        await engine.tick()
        clock.advance(60)
    assert await refs() == ["digest", "start"]  # at most one digest per 30 minutes, never one mail per order
    current.clear()
    await engine.tick()
    assert await refs() == ["digest", "end", "start"]
    await journal.close()


async def test_sweep_failures_become_an_incident_after_the_grace() -> None:
    from agent.health.systems import SweepProblems

    clock = ManualClock()
    error: list[str | None] = ["WooConnectionError: webhooks could not be re-activated"]
    source = SweepProblems(lambda: error[0], clock, grace_seconds=300)
    [first] = await source.problems()
    clock.advance(400)
    [later] = await source.problems()
    assert first.key == later.key == "sweep-failing" and later.since == first.since and later.grace == 300
    error[0] = None
    assert await source.problems() == []


async def test_a_skipped_order_does_not_end_a_dynaccount_outage() -> None:
    from agent.dynaccount.errors import DynaccountConnectionError
    from agent.health.systems import DOWN_AFTER_FAILURES, SystemHealth
    from agent.journal import WorkItem
    from agent.worker import Outcome

    clock = ManualClock()
    health = SystemHealth(clock, grace_seconds=300)
    outcomes: list[Outcome | Exception] = [
        *[DynaccountConnectionError("refused")] * DOWN_AFTER_FAILURES, Outcome("skipped", "not paid yet"),
        Outcome("done", "invoice 7 booked"),
    ]  # fmt: skip

    async def process(item: WorkItem) -> Outcome:
        result = outcomes.pop(0)
        if isinstance(result, Exception):
            raise result
        return result

    watched = health.watch(process)
    item = WorkItem("order:1", "order", "1", "running", 1, 0, 0.0, 0.0, None, None)
    for _ in range(DOWN_AFTER_FAILURES):
        with contextlib.suppress(DynaccountConnectionError):
            await watched(item)
    assert [p.key for p in await health.problems()] == ["dynaccount-down"]
    await watched(item)
    assert [p.key for p in await health.problems()] == ["dynaccount-down"]
    await watched(item)
    assert await health.problems() == []


def test_one_failed_call_among_answers_is_no_outage() -> None:
    """A passing 5xx must not close the worker's gate (one probe at a time) for everyone: under a 20 % fault
    mix that throttled all work to one order per backoff step."""
    from agent.dynaccount.errors import DynaccountUnavailable
    from agent.health.systems import DOWN_AFTER_FAILURES, SystemHealth

    health = SystemHealth(ManualClock(), grace_seconds=300)
    for _ in range(5):
        for _ in range(DOWN_AFTER_FAILURES - 1):
            health.failed(DynaccountUnavailable("503"))
        assert health.paused() is None
        health.reached("dynaccount")
    for _ in range(DOWN_AFTER_FAILURES):
        health.failed(DynaccountUnavailable("503"))
    assert health.paused() is not None and "Dynaccount" in health.paused()  # type: ignore[operator]
