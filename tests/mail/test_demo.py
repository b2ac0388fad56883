"""The demo's SMTP catcher: the demo mails through it, its page lists what it caught, the verdict counts it."""

from __future__ import annotations

import re
from pathlib import Path

import aiohttp

from agent.clock import ManualClock
from agent.sandbox.demo import count_mails, demo_stack, mail_settings, place_orders, verify
from agent.sandbox.mailcatcher import running_catcher

from .conftest import drive  # type: ignore[import-not-found]


async def test_the_demo_catches_its_mails_shows_them_and_counts_them(tmp_path: Path) -> None:
    clock = ManualClock()
    async with running_catcher() as catcher, demo_stack(
        tmp_path / "demo", delivery_delay=0.0, clock=clock, autostart=False,
        overrides={"mail": mail_settings(catcher.smtp_port)},
    ) as stack:  # fmt: skip
        ids = await place_orders(stack, 6)  # one EAN customer among them: not mailed
        await drive(stack, clock)
        verdict = await count_mails(stack, catcher.catcher, await verify(stack, ids))
        assert (verdict.mails, verdict.mails_expected, verdict.mail_duplicates) == (5, 5, 0) and verdict.ok
        async with aiohttp.ClientSession() as session, session.get(catcher.page_url) as resp:
            page = await resp.text()
        assert "caught by the demo's SMTP server: 5" in page
        assert len(re.findall(r"Faktura-\d+\.pdf", page)) == 5
        catcher.catcher.mails.append(catcher.catcher.mails[0])  # a duplicate would fail the verdict
        verdict = await count_mails(stack, catcher.catcher, await verify(stack, ids))
        assert verdict.mail_duplicates == 1 and not verdict.ok
