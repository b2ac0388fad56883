"""Reading files and values (no network): delimiters, encodings, decimal commas, dates, XML namespaces and
line numbers, hostile XML; and every [files.mappings.NAME] key documented in config.example.toml."""

from __future__ import annotations

import re
import tomllib
from decimal import Decimal
from pathlib import Path

import pytest

from agent.config import load_config
from agent.config_files import FileColumns, FileMapping, FilesConfig
from agent.files import values
from agent.files.build import OrderBuilder
from agent.files.read import Refused, read_file
from agent.plan.settings import PlanSettings

from .conftest import CONTRIB  # type: ignore[import-not-found]

ROOT = Path(__file__).resolve().parents[2]
COLUMNS = FileColumns(order_number="no", quantity="qty", unit_price="price", vat_rate="vat", date="date")


@pytest.mark.parametrize(("text", "decimal", "expected"), [
    ("1.234,50", "auto", "1234.50"), ("1234,5", "auto", "1234.5"), ("1,234.50", "auto", "1234.50"),
    ("99", ",", "99"), ("-2", "auto", "-2"), ("1 234,00", ",", "1234.00"), ("0,25", ".", "25"),
])  # fmt: skip
def test_numbers(text: str, decimal: str, expected: str) -> None:
    assert values.number(text, decimal) == Decimal(expected)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["", "abc", "12,34,56x", "1e5"])
def test_not_numbers(bad: str) -> None:
    with pytest.raises(ValueError, match="not a number"):
        values.number(bad)


def test_rates_and_dates() -> None:
    assert values.rate("25%") == values.rate("25,00 %") == values.rate("0,25") == Decimal(25)
    assert values.day("02-11-2026") == values.day("02.11.2026") == values.day("2026-11-02") == "2026-11-02T00:00:00"
    assert values.day("2026-11-03T10:15:00Z") == "2026-11-03T10:15:00"
    with pytest.raises(ValueError, match="not a date"):
        values.day("31-02-2026")


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_any_delimiter_is_detected(delimiter: str) -> None:
    rows = [["no", "date", "qty", "price", "vat"], ["7", "2026-11-02", "2", "99,50" if delimiter != "," else "99.50", "25"]]
    data = "\n".join(delimiter.join(f'"{c}"' if "," in c else c for c in r) for r in rows).encode()
    result = read_file(data, "x.csv", FileMapping(source="t", columns=COLUMNS), 10_000)
    assert result.errors == [] and [r.values["unit_price"] for r in result.rows] in (["99,50"], ["99.50"])


def test_multi_line_quoted_field_keeps_line_numbers_and_bad_utf8_is_one_row() -> None:
    data = b'no;qty;price\n1;1;"10,00"\n2;"1\n";5\n3;1;\xff\n4;1;2\n'
    result = read_file(data, "x.csv", FileMapping(source="t", columns=COLUMNS), 10_000)
    assert [r.line for r in result.rows] == [2, 3, 6]
    assert [(e.line, e.reason) for e in result.errors] == [(5, "not valid UTF-8 (save the file as UTF-8)")]


def test_xml_rows_carry_their_line_numbers_and_a_broken_line_is_reported() -> None:
    _, mapping = FilesConfig.model_validate({"mappings": tomllib.loads(
        (CONTRIB / "mappings.toml").read_text())["files"]["mappings"]}).mapping("market")  # fmt: skip
    data = (CONTRIB / "orders.xml").read_bytes().replace(b"<o:Qty>1</o:Qty><o:Price>159.20", b"<o:Qty>x</o:Qty><o:Price>159.20")
    result = read_file(data, "orders.xml", mapping, 100_000)
    text = data.decode().splitlines()
    assert [r.line for r in result.rows] == [i + 1 for i, line in enumerate(text) if "<o:Line>" in line]
    built = OrderBuilder(mapping, PlanSettings()).build(result.rows)
    [error] = built.errors
    assert error.line == result.rows[1].line and error.order_number == "X-2001" and "not a number: 'x'" in error.reason
    assert [o.number for o in built.orders] == ["X-2002"]


@pytest.mark.parametrize("data", [
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "x"><!ENTITY b "&a;&a;&a;">]><r>&b;</r>',
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e SYSTEM "file:///etc/passwd">]><r>&e;</r>',
])  # fmt: skip
def test_xml_entities_are_refused(data: bytes) -> None:
    mapping = FileMapping(format="xml", source="t", order_path=".//o", line_path="l", columns=COLUMNS)
    with pytest.raises(Refused, match="entity declarations"):
        read_file(data, "x.xml", mapping, 10_000)


def test_every_mapping_key_is_documented_and_the_example_reads_the_example_file() -> None:
    text = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    raw = tomllib.loads(re.sub(r"(?m)^# (\w+ = )", r"\1", text))
    table = raw["files"]["mappings"]["pos"]
    missing = [k for k in FileMapping.model_fields if k not in table]
    missing += [f"columns.{k}" for k in FileColumns.model_fields if k not in table["columns"]]
    assert missing == []
    config = load_config(ROOT / "config.example.toml")
    _, mapping = config.files.mapping(None)
    result = read_file((CONTRIB / "orders.csv").read_bytes(), "orders.csv", mapping, config.files.max_bytes)
    built = OrderBuilder(mapping, config.plan).build(result.rows)
    assert built.errors == [] and [o.number for o in built.orders] == ["1001", "1002", "1003", "1004"]


def test_an_order_number_that_cannot_be_a_work_key_is_a_bad_row() -> None:
    data = ("no;qty;price\n" + "x" * 101 + ";1;10\n7;1;10\n").encode()
    mapping = FileMapping(source="t", columns=COLUMNS)
    built = OrderBuilder(mapping, PlanSettings()).build(read_file(data, "x.csv", mapping, 10_000).rows)
    assert [(e.line, e.reason) for e in built.errors] == [(2, "order_number must be 1-100 printable characters")]
    assert [o.number for o in built.orders] == ["7"]
