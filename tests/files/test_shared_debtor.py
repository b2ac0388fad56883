"""Regression: two orders of one debtor key (customers without an e-mail share the B2C match key) in one
worker wave created the debtor twice under one number ("module_id_ already exists"), failing the second."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from agent.clock import ManualClock
from agent.files.commands import import_path
from agent.sandbox.demo import Stack

from ..e2e.conftest import drive  # type: ignore[import-not-found]
from .conftest import invoice  # type: ignore[import-not-found]

ROWS = "Ordrenr;Dato;Kunde;Land;Varenr;Antal;Stykpris;Moms\n" + "".join(
    f"{3000 + n};07-11-2026;Kunde {n};DK;KRUS-001;1;99,00;25\n" for n in range(4)
)


async def test_orders_sharing_a_new_debtor_in_one_wave_make_one_debtor(
    fstack: tuple[Stack, ManualClock], tmp_path: Path
) -> None:
    s, clock = fstack
    path = tmp_path / "no-email.csv"
    path.write_text(ROWS, encoding="utf-8")
    assert s.services.files is not None
    await import_path(s.services.files, s.services.journal, s.services.worker.run_once, path, None,
                      dry_run=False, daemon_running=True, progress=lambda _: None)  # fmt: skip
    await drive(s, clock)
    for n in range(4):
        assert invoice(s, f"woo/file-pos-{3000 + n}")["total"] == Decimal("99.00")
    assert len(s.dyn.store.tables["debtor"]) == 1
