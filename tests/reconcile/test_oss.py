"""OSS figures per member state and rate, and the one function reading (country, rate) from a VAT code."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from decimal import Decimal

import pytest

from agent.reconcile.documents import BookDoc, BookLine
from agent.reconcile.oss import oss_report, parse_quarter, to_csv, to_json, to_table
from agent.reconcile.places import CodeInfo, VatPlace, vat_place

EU = ["AT", "DE", "DK", "FR", "SE"]
D = Decimal


@pytest.mark.parametrize(("pattern", "code", "expected"), [
    ("OSS-{country}", CodeInfo("OSS-DE", D(19), "SALE_OSS"), ("DE", D(19), True)),
    ("OSS-{country}-{rate}", CodeInfo("OSS-DE-7", D(7), "SALE_OSS"), ("DE", D(7), True)),
    ("OSS-{country}-{rate}", CodeInfo("OSS-FR-5.5", D("5.5"), "SALE_OSS"), ("FR", D("5.5"), True)),
    # a code whose name the pattern does not match still counts when Dynaccount types it as OSS
    ("OSS-{country}-{rate}", CodeInfo("MOMS OSS SE", D(25), "SALE_OSS"), ("SE", D(25), True)),
    ("OSS-{country}", CodeInfo("K25", D(25), "SALE"), ("DK", D(25), False)),
    ("OSS-{country}", CodeInfo("EUV", D(0), "SALE_EU_GOODS"), ("", D(0), False)),
    ("OSS-{country}", CodeInfo("OSS-DK", D(25), "SALE_OSS"), ("DK", D(25), False)),  # home country: not OSS
])  # fmt: skip
def test_vat_place_follows_the_configured_naming(pattern: str, code: CodeInfo,
                                                 expected: tuple[str, Decimal, bool]) -> None:  # fmt: skip
    place = vat_place(code, oss_pattern=pattern, home_country="DK", eu_countries=EU)
    assert (place.country, place.rate, place.oss) == expected


def test_rates_print_as_people_write_them() -> None:
    place = vat_place(CodeInfo("OSS-FR", D("20.00"), "SALE_OSS"), oss_pattern="OSS-{country}", home_country="DK",
                      eu_countries=EU)  # fmt: skip
    assert str(place.rate) == "20"  # not "2E+1" nor "20.00"


def test_the_rate_is_dynaccounts_not_the_names() -> None:
    place = vat_place(CodeInfo("OSS-DE-7", D(19), "SALE_OSS"), oss_pattern="OSS-{country}-{rate}",
                      home_country="DK", eu_countries=EU)  # fmt: skip
    assert place.rate == D(19)  # Dynaccount computes with 19: that is what was booked


def test_parse_quarter() -> None:
    assert parse_quarter("2026Q3") == (date(2026, 7, 1), date(2026, 10, 1))
    assert parse_quarter("2026-q4") == (date(2026, 10, 1), date(2027, 1, 1))
    with pytest.raises(ValueError, match="2026Q3"):
        parse_quarter("2026-07")


def place(code: str, country: str, rate: str, oss: bool = True) -> VatPlace:
    return VatPlace(code, country, D(rate), oss)


DE19, DE7, SE25 = place("OSS-DE-19", "DE", "19"), place("OSS-DE-7", "DE", "7"), place("OSS-SE-25", "SE", "25")
K25, NONE = place("K25", "DK", "25", oss=False), place("", "", "0", oss=False)


def doc(kind: str, n: int, lines: list[tuple[VatPlace, str, str]], *, booked: bool = True,
        currency: str = "DKK") -> BookDoc:  # fmt: skip
    book_lines = tuple(BookLine(p, D(net), D(vat)) for p, net, vat in lines)
    total = sum((ln.net + ln.vat for ln in book_lines), D(0))
    return BookDoc(kind, n, n, f"shop/order-{n}", 0, currency, booked, total,  # type: ignore[arg-type]
                   sum((ln.vat for ln in book_lines), D(0)), book_lines, n, f"{kind}:{n}")  # fmt: skip


PLANTED = [
    doc("invoice", 1, [(DE19, "100.00", "19.00"), (DE7, "200.00", "14.00"), (NONE, "0.01", "0")]),
    doc("invoice", 2, [(DE19, "50.40", "9.58"), (K25, "80.00", "20.00")]),
    doc("invoice", 3, [(SE25, "300.00", "75.00")]),
    doc("invoice", 4, [(SE25, "10.00", "2.50")], currency="EUR"),
    doc("creditnote", 5, [(DE19, "20.00", "3.80"), (DE7, "200.00", "14.00")]),
    doc("invoice", 6, [(DE19, "999.00", "189.81")], booked=False),  # a draft: not declared
]


def test_oss_figures_of_a_planted_quarter_equal_the_hand_computation() -> None:
    report = oss_report("2026Q3", PLANTED)
    got = {(r.country, str(r.rate), r.currency): (r.net, r.vat) for r in report.rows}
    # by hand: DE 19 % = 100.00 + 50.40 − 20.00 net, 19.00 + 9.58 − 3.80 VAT; DE 7 % sold and fully credited
    assert got == {
        ("DE", "19", "DKK"): (D("130.40"), D("24.78")),
        ("DE", "7", "DKK"): (D("0.00"), D("0.00")),
        ("SE", "25", "DKK"): (D("300.00"), D("75.00")),
        ("SE", "25", "EUR"): (D("10.00"), D("2.50")),
    }
    assert report.drafts == 1
    assert [(r.country, str(r.rate)) for r in report.rows][:2] == [("DE", "19"), ("DE", "7")]


def test_oss_csv_json_and_table_carry_the_same_figures() -> None:
    report = oss_report("2026Q3", PLANTED)
    rows = list(csv.DictReader(io.StringIO(to_csv(report))))
    assert rows[0] == {"country": "DE", "rate": "19", "currency": "DKK", "sales_net": "150.40", "sales_vat": "28.58",
                       "credited_net": "20.00", "credited_vat": "3.80", "net": "130.40", "vat": "24.78"}
    data = json.loads(to_json(report))
    assert data["quarter"] == "2026Q3" and data["from"] == "2026-07-01" and data["to"] == "2026-10-01"
    assert data["rows"] == rows
    table = to_table(report)
    assert "DE" in table and "130.40" in table and "24.78" in table and "1 unbooked" in table
