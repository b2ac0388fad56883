"""A CSV or XML file → rows of raw field values, each with the line number it starts on.

Nothing is interpreted here (numbers, dates and VAT come in :mod:`agent.files.values`); a line that is not
valid UTF-8 becomes a row error and the rest of the file is still read. XML is parsed with defusedxml:
entity declarations (billion laughs, external entities) are refused, never expanded.
"""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from agent.config_files import FileColumns, FileMapping

REQUIRED = ("order_number", "quantity", "unit_price")
_NOT_TEXT = (b"PK\x03\x04", b"%PDF", b"\xd0\xcf\x11\xe0", b"\x89PNG", b"GIF8", b"\xff\xd8\xff")


class Refused(Exception):
    """The whole file is refused (not CSV/XML, too large, no usable header); ``str()`` says why."""


@dataclass(frozen=True)
class Row:
    line: int  # where the row starts in the file (1 = the first line)
    values: dict[str, str]  # field name (FileColumns) → raw text, "" when absent


@dataclass(frozen=True)
class RowError:
    line: int
    reason: str
    order_number: str = ""


@dataclass
class ReadResult:
    rows: list[Row] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def _fields(columns: FileColumns) -> dict[str, str]:
    """Field name → where it is, for the fields the mapping names."""
    return {name: where for name, where in columns.model_dump().items() if where}


def check_file(data: bytes, name: str, mapping: FileMapping, max_bytes: int) -> None:
    if len(data) > max_bytes:
        raise Refused(f"{name}: {len(data)} bytes is larger than files.max_bytes ({max_bytes})")
    if not data.strip():
        raise Refused(f"{name}: the file is empty")
    head = data[:8]
    if head.startswith(_NOT_TEXT) or b"\x00" in data[:4096]:
        raise Refused(f"{name}: not a CSV or XML file (binary content: a spreadsheet, PDF or image?)")
    looks_xml = data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")
    if mapping.format == "csv" and looks_xml:
        raise Refused(f"{name}: this is XML, but the mapping reads CSV (format = \"csv\")")
    if mapping.format == "xml" and not looks_xml:
        raise Refused(f"{name}: not an XML file, but the mapping reads XML (format = \"xml\")")


def read_file(data: bytes, name: str, mapping: FileMapping, max_bytes: int) -> ReadResult:
    check_file(data, name, mapping, max_bytes)
    return read_xml(data, name, mapping) if mapping.format == "xml" else read_csv(data, name, mapping)


# -- CSV -----------------------------------------------------------------------------------------------


def _decode_lines(data: bytes) -> tuple[list[str], set[int]]:
    """Lines decoded one by one (BOM dropped), and the numbers of those that are not UTF-8."""
    bad: set[int] = set()
    lines = []
    for number, raw in enumerate(data.removeprefix(b"\xef\xbb\xbf").splitlines(keepends=True), start=1):
        try:
            lines.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            bad.add(number)
            lines.append(raw.decode("utf-8", errors="replace"))
    return lines, bad


def _dialect(sample: str, delimiter: str) -> str:
    if delimiter:
        return delimiter
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        header = sample.splitlines()[0] if sample else ""
        return max(",;\t|", key=header.count)


def read_csv(data: bytes, name: str, mapping: FileMapping) -> ReadResult:
    lines, bad = _decode_lines(data)
    delimiter = _dialect("".join(lines[:20]), mapping.delimiter)
    reader = csv.reader(io.StringIO("".join(lines), newline=""), delimiter=delimiter)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except (StopIteration, csv.Error) as exc:
        raise Refused(f"{name}: no CSV header line ({exc})") from None
    where = _fields(mapping.columns)
    missing = [f"{f} ({where.get(f)!r})" for f in REQUIRED if where.get(f, "").strip().lower() not in header]
    if missing:
        raise Refused(f"{name}: the header has no column for {', '.join(missing)}; it has {', '.join(header)}")
    index = {f: header.index(col.strip().lower()) for f, col in where.items() if col.strip().lower() in header}
    result, start = ReadResult(), reader.line_num + 1
    while True:
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            result.errors.append(RowError(start, f"not valid CSV: {exc}"))
            break
        span, start = set(range(start, reader.line_num + 1)), reader.line_num + 1
        if not any(cell.strip() for cell in record):
            continue
        line = min(span)
        if span & bad:
            result.errors.append(RowError(min(span & bad), "not valid UTF-8 (save the file as UTF-8)"))
        elif len(record) < len(header):
            result.errors.append(RowError(line, f"has {len(record)} fields, the header has {len(header)}"))
        else:
            result.rows.append(Row(line, {f: record[i].strip() for f, i in index.items()}))
    return result


# -- XML -----------------------------------------------------------------------------------------------


class _LineBuilder(ET.TreeBuilder):
    """A tree builder that notes the line each element starts on (ElementTree keeps none)."""

    def __init__(self) -> None:
        super().__init__()
        self.parser: SafeET.DefusedXMLParser | None = None
        self.lines: dict[ET.Element, int] = {}

    def start(self, tag: str, attrs: dict[str, str]) -> ET.Element:
        elem = super().start(tag, attrs)
        if self.parser is not None:
            self.lines[elem] = self.parser.parser.CurrentLineNumber
        return elem


def _parse_xml(data: bytes, name: str) -> tuple[ET.Element, dict[ET.Element, int]]:
    builder = _LineBuilder()
    parser = SafeET.DefusedXMLParser(target=builder, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    builder.parser = parser
    try:
        parser.feed(data)
        root = parser.close()
    except DefusedXmlException as exc:
        raise Refused(f"{name}: XML with entity declarations is refused ({type(exc).__name__})") from None
    except ET.ParseError as exc:
        raise Refused(f"{name}: not well-formed XML: {exc}") from None
    return root, builder.lines


def _value(elem: ET.Element, path: str, namespaces: dict[str, str]) -> str | None:
    """The text at ``path`` (an ElementTree XPath, optionally ending in ``@attribute``), or None."""
    path, _, attr = path.partition("@")
    path = path.rstrip("/") or "."
    found = elem.find(path, namespaces)
    if found is None:
        return None
    if attr:
        return found.get(attr)
    return (found.text or "").strip()


def read_xml(data: bytes, name: str, mapping: FileMapping) -> ReadResult:
    root, lines = _parse_xml(data, name)
    ns, where = mapping.namespaces, _fields(mapping.columns)
    result = ReadResult()
    try:
        orders = root.findall(mapping.order_path, ns) if mapping.order_path != "." else [root]
    except (SyntaxError, KeyError) as exc:
        raise Refused(f"{name}: order_path {mapping.order_path!r} is not usable: {exc}") from None
    if not orders:
        raise Refused(f"{name}: no element matches order_path {mapping.order_path!r} (check the namespaces)")
    for order in orders:
        for item in order.findall(mapping.line_path, ns):
            values = {}
            for f, path in where.items():
                # a field is looked for on the line first, then on its order (header fields)
                text = _value(item, path, ns)
                values[f] = (text if text is not None else _value(order, path, ns)) or ""
            result.rows.append(Row(lines.get(item, lines.get(order, 0)), values))
    return result
