"""Files of orders through the CLI's import into the Dynaccount sandbox: totals to the øre, VAT per code,
credit notes, re-imports that book nothing, bad rows reported by line, dry runs and refusals."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path

from agent.app import JOURNAL
from agent.clock import ManualClock
from agent.files.commands import import_path
from agent.sandbox.demo import Stack
from agent.services import Services

from ..e2e.conftest import drive  # type: ignore[import-not-found]
from .conftest import CONTRIB, counts, creditnotes, invoice  # type: ignore[import-not-found]

D = Decimal


def cli(path: Path, mapping: str | None = None, *, dry_run: bool = False,
        out: list[str] | None = None) -> Callable[[Services, bool], Awaitable[str]]:  # fmt: skip
    async def command(s: Services, running: bool) -> str:
        assert s.files is not None
        lines = out if out is not None else []
        code, summary = await import_path(s.files, s.journal, s.worker.run_once, path, mapping, dry_run=dry_run,
                                          daemon_running=running, progress=lines.append)  # fmt: skip
        lines.append(f"exit {code}")
        return summary

    return command


async def test_csv_with_bom_semicolons_and_decimal_commas_books_the_files_totals(
    fstack: tuple[Stack, ManualClock],
) -> None:
    s, clock = fstack
    out: list[str] = []
    summary = await cli(CONTRIB / "orders.csv", out=out)(s.services, True)
    assert "4 new" in summary and "0 bad row(s)" in summary and "queued" in summary, summary
    await drive(s, clock)
    # the file's own totals, to the øre; VAT per code computed by Dynaccount from the booked lines
    expected = {"1001": (D("416.10"), {"K25": D("83.22")}), "1002": (D("317.75"), {"OSS-DE-19": D("50.73")}),
                "1003": (D("2229.50"), {"K25": D("445.90")}), "1004": (D("396.00"), {"K25": D("79.20")})}
    for number, (total, vat) in expected.items():
        inv = invoice(s, f"woo/file-pos-{number}")
        assert inv["total"] == total and inv["by_code"] == vat, (number, inv)
        assert str(inv["booked"]).upper() in ("YES", "TRUE", "1")
    # the discounted line is a 10 % discount on the catalogue price, as a webshop coupon would be
    tshirt = [li for li in invoice(s, "woo/file-pos-1001")["lines"] if li["product_id_"] == "TSHIRT-M"]
    assert len(tshirt) == 1 and tshirt[0]["total_amount"] == D("179.10")
    # the negative line of order 1004 became a credit note against its invoice
    assert creditnotes(s, invoice(s, "woo/file-pos-1004")["id"]) == [D("99.00")]
    books = counts(s)
    # the same bytes again: recognised, nothing new, nothing booked
    summary = await cli(CONTRIB / "orders.csv", out=out)(s.services, True)
    assert any("the same bytes were imported before" in line for line in out), out
    await drive(s, clock)
    assert counts(s) == books
    # a credit-note file credits order 1001's discounted T-shirt line
    await cli(CONTRIB / "creditnotes.csv", "pos-credit")(s.services, True)
    await drive(s, clock)
    assert creditnotes(s, invoice(s, "woo/file-pos-1001")["id"]) == [D("179.10")]
    # ... and importing it again credits nothing twice
    await cli(CONTRIB / "creditnotes.csv", "pos-credit")(s.services, True)
    await drive(s, clock)
    assert len(s.dyn.store.tables["debtor_creditnote"]) == 2


async def test_overlapping_file_books_only_the_new_order(fstack: tuple[Stack, ManualClock], tmp_path: Path) -> None:
    s, clock = fstack
    await cli(CONTRIB / "orders.csv")(s.services, True)
    await drive(s, clock)
    books = counts(s)
    lines = (CONTRIB / "orders.csv").read_text(encoding="utf-8-sig").splitlines()
    overlap = tmp_path / "overlap.csv"  # other bytes (no BOM, CRLF), orders 1002 and 1003 again, plus 1005
    overlap.write_bytes(("\r\n".join([lines[0], *lines[3:6],
                                      "1005;06-11-2026;Ida Berg;;;;;DK;ida@example.dk;;KRUS-001;Kaffekrus, hvid;1;99,00;25;;;stripe;99,00"])
                         + "\r\n").encode())  # fmt: skip
    out: list[str] = []
    summary = await cli(overlap, out=out)(s.services, True)
    assert "1 new" in summary and "2 nothing new (imported before)" in summary, summary
    await drive(s, clock)
    assert counts(s)[0] == books[0] + 1 and invoice(s, "woo/file-pos-1005")["total"] == D("99.00")
    for number in ("1002", "1003"):
        invoice(s, f"woo/file-pos-{number}")  # still exactly one each


async def test_xml_with_namespaces_books_both_orders(fstack: tuple[Stack, ManualClock]) -> None:
    s, clock = fstack
    summary = await cli(CONTRIB / "orders.xml", "market")(s.services, True)
    assert "2 new" in summary, summary
    await drive(s, clock)
    first, second = invoice(s, "woo/file-market-X-2001"), invoice(s, "woo/file-market-X-2002")
    assert first["total"] == D("446.00") and first["by_code"] == {"K25": D("89.20")}
    assert second["total"] == D("100.00") and second["by_code"] == {"OSS-SE-25": D("20.00")}


BROKEN = """Ordrenr;Dato;Kunde;Land;Varenr;Antal;Stykpris;Moms;Total
2001;07-11-2026;Bo;DK;KRUS-001;2;99,00;25;198,00
2002;07-11-2026;Ane;DK;KRUS-001;to;99,00;25;99,00
2003;31-02-2026;Per;DK;KRUS-001;1;99,00;25;99,00
2004;07-11-2026;Kim;DK;KRUS-001;1;99,00;17;99,00
2005;07-11-2026;Eva;DK;KRUS-001;1;99,00;25;120,00
2006;07-11-2026;Ole;DK;KRUS-001;1;;25;99,00
2007;07-11-2026;Lis;DK;TSHIRT-S;1;199,00;25;199,00
"""


async def test_broken_rows_are_reported_by_line_and_the_rest_is_booked(
    fstack: tuple[Stack, ManualClock], tmp_path: Path
) -> None:
    s, clock = fstack
    path = tmp_path / "broken.csv"
    data = BROKEN.encode()
    data = data.replace(b"2008", b"")
    path.write_bytes(data + b"2008;07-11-2026;Bad;DK;KRUS-001;1;99,00;25;99,00\n".replace(b"Bad", b"B\xe6d"))
    out: list[str] = []
    summary = await cli(path, out=out)(s.services, True)
    text = "\n".join(out)
    assert "line 3: order 2002: not a number: 'to'" in text
    assert "line 4: order 2003: not a date" in text
    assert "line 5: order 2004: unknown VAT rate 17 % for DK" in text
    assert "line 6: order 2005: order 2005: the file's total 120.00 does not add up" in text
    assert "line 7: order 2006: unit_price is missing" in text
    assert "line 9: not valid UTF-8" in text
    assert "2 new" in summary and "6 bad row(s)" in summary and "exit 1" in out, (summary, out)
    await drive(s, clock)
    assert invoice(s, "woo/file-pos-2001")["total"] == D("198.00") and invoice(s, "woo/file-pos-2007")["total"] == D("199.00")
    assert counts(s)[0] == 2


async def test_dry_run_shows_plans_and_writes_nothing(fstack: tuple[Stack, ManualClock]) -> None:
    s, clock = fstack
    out: list[str] = []
    summary = await cli(CONTRIB / "orders.csv", dry_run=True, out=out)(s.services, True)
    assert "dry run, nothing written" in summary
    text = "\n".join(out)
    assert "woo/file-pos-1001" in text and "K25" in text and "OSS-DE-19" in text
    journal = s.app[JOURNAL]
    assert await journal.db.read("SELECT * FROM import_files") == []
    assert await journal.db.read("SELECT * FROM file_orders") == []
    assert (await journal.counts()).work.get("pending", 0) == 0
    await drive(s, clock)
    assert counts(s)[0] == 0


async def test_files_that_are_not_csv_or_xml_or_too_large_are_refused(
    fstack: tuple[Stack, ManualClock], tmp_path: Path
) -> None:
    s, _ = fstack
    cases = {
        "sheet.xlsx": (b"PK\x03\x04" + b"\x00" * 100, "not a CSV or XML file"),
        "big.csv": (b"Ordrenr;Antal;Stykpris\n" + b"1;1;1\n" * 300_000, "larger than files.max_bytes"),
        "bomb.xml": (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>', "entity declarations"),
        "orders.xml": ((CONTRIB / "orders.xml").read_bytes(), "this is XML, but the mapping reads CSV"),
    }
    for name, (data, message) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        mapping = "market" if name == "bomb.xml" else None
        summary = await cli(path, mapping)(s.services, True)
        assert summary.startswith("refused:") and message in summary, (name, summary)
    assert await s.app[JOURNAL].db.read("SELECT * FROM import_files") == []
