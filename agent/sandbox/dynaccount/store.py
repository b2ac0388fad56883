"""The sandbox's in-memory accounts: generic table rules (read-only and unknown columns,
references, uniqueness, select/filter/order/limit) with document rules in :mod:`.docs`."""

from __future__ import annotations

import copy
import json
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from . import docs
from .schema import MAX_LENGTH, SCHEMA, FieldError, TableSpec, coerce, render

Row = dict[str, Any]
RESERVED = ("select", "order", "limit")


class ApiError(Exception):
    """An error reply: HTTP status + the ``error`` object."""

    def __init__(self, status: int, error: Mapping[str, Any]) -> None:
        super().__init__(f"{status} {dict(error)}")
        self.status = status
        self.error = dict(error)


def field_error(column: str, message: str, status: int = 400) -> ApiError:
    return ApiError(status, {column: message})


class Store:
    def __init__(self, *, clock: Callable[[], int] | None = None, invoice_start: int = 1001) -> None:
        self.clock = clock or (lambda: int(time.time()))
        self.tables: dict[str, dict[int, Row]] = {name: {} for name in SCHEMA}
        self.next_ids: dict[str, int] = dict.fromkeys(SCHEMA, 1)
        self.next_number = invoice_start
        self.sent: list[Row] = []
        self.path: Path | None = None
        # Unique columns by their rendered value (a real database has these indexes): an equality lookup on
        # them must not scan every row, or a bulk sync of thousands of products is quadratic in the sandbox.
        self._unique: dict[tuple[str, str], dict[str, int]] = {}

    # -- lookups used by the document rules -----------------------------------------------------

    def spec(self, table: str) -> TableSpec:
        if table not in SCHEMA:
            raise ApiError(404, {"table": f"unknown table {table!r}"})
        return SCHEMA[table]

    def row(self, table: str, row_id: int) -> Row:
        found = self.tables[table].get(row_id)
        if found is None:
            raise ApiError(404, {"id": f"{table} {row_id} not found"})
        return found

    def find(self, table: str, column: str, value: Any) -> Row | None:
        if column in SCHEMA[table].unique and value is not None:
            row = self._unique_row(table, column, str(render(column, value)))
            return row if row is not None and row.get(column) == value else None
        return next((r for r in self.tables[table].values() if r.get(column) == value), None)

    def _unique_row(self, table: str, column: str, key: str) -> Row | None:
        """The row whose unique ``column`` renders as ``key``, through the index; an entry a test made stale
        (a row deleted or changed behind the store's back) rebuilds the index once."""
        rid = self._index(table, column).get(key)
        row = self.tables[table].get(rid) if rid is not None else None
        if rid is not None and (row is None or str(render(column, row.get(column))) != key):
            self._unique.pop((table, column))
            rid = self._index(table, column).get(key)
            row = self.tables[table].get(rid) if rid is not None else None
        return row

    def _index(self, table: str, column: str) -> dict[str, int]:
        key = (table, column)
        if key not in self._unique:
            index: dict[str, int] = {}
            for r in self.tables[table].values():
                if r.get(column) is not None:
                    index.setdefault(str(render(column, r.get(column))), r["id"])
            self._unique[key] = index
        return self._unique[key]

    def _reindex(self, table: str, old: Row | None, new: Row | None) -> None:
        for column in SCHEMA[table].unique:
            index = self._unique.get((table, column))
            if index is None:
                continue
            if old is not None and index.get(str(render(column, old.get(column)))) == old["id"]:
                del index[str(render(column, old.get(column)))]
            if new is not None and new.get(column) is not None:
                key = str(render(column, new.get(column)))
                held = self.tables[table].get(index.get(key, -1))
                if held is None or held.get(column) != new.get(column) or held["id"] == new["id"]:
                    index[key] = new["id"]  # a row deleted behind the store's back leaves no claim

    def where(self, table: str, column: str, value: Any) -> list[Row]:
        return [r for r in self.tables[table].values() if r.get(column) == value]

    def render(self, table: str, row: Row, select: Sequence[str] | None = None) -> Row:
        return {c: render(c, row.get(c)) for c in (select or self.spec(table).columns)}

    # -- get ------------------------------------------------------------------------------------

    def get(self, table: str, row_id: int | None, query: Sequence[tuple[str, str]]) -> list[Row]:
        spec = self.spec(table)
        params = dict(query)
        select = [c.strip() for c in params["select"].split(",")] if params.get("select") else None
        for column in [*(select or []), *(k for k in params if k not in RESERVED)]:
            if column not in spec.columns:
                raise field_error(column, "unknown column")
        filters = {k: v for k, v in params.items() if k not in RESERVED}
        rows = [self.row(table, row_id)] if row_id else self._candidates(table, spec, filters)
        rows = [r for r in rows if all(str(render(k, r.get(k))) == v for k, v in filters.items())]
        rows = _order(rows, params.get("order", ""), spec)
        rows = _limit(rows, params.get("limit", ""))
        return [self.render(table, r, select) for r in rows]

    # -- writes ---------------------------------------------------------------------------------

    def put(self, table: str, fields: Mapping[str, str], row_id: int | None) -> Row:
        spec = self.spec(table)
        existing = self.row(table, row_id) if row_id else None
        row = self._validated(table, spec, fields, existing)
        self._save(table, row)
        docs.after_write(self, table, row)
        return self.render(table, row)

    def insert_bulk(self, table: str, rows: Sequence[Mapping[str, str]]) -> list[Row]:
        """A-12: all-or-nothing; errors keyed by line index."""
        spec = self.spec(table)
        next_id = self.next_ids[table]
        errors: dict[str, Any] = {}
        created: list[Row] = []
        for index, fields in enumerate(rows):
            try:
                row = self._validated(table, spec, fields, None)
            except ApiError as exc:
                errors[str(index)] = exc.error
                continue
            self._save(table, row)
            docs.after_write(self, table, row)
            created.append(row)
        if errors:
            # Undo the batch: the rows go, and what after_write derived from them (totals, matching)
            # is derived again without them. (A deep copy of the whole store per call made every
            # insert_bulk cost the size of the books: quadratic over a long run.)
            for row in created:
                del self.tables[table][row["id"]]
                docs.after_write(self, table, row)
            self.next_ids[table] = next_id
            raise ApiError(400, errors)
        return [self.render(table, r) for r in created]

    def _candidates(self, table: str, spec: TableSpec, filters: Mapping[str, str]) -> list[Row]:
        unique = next((k for k in filters if k in spec.unique), None)
        if unique is None:
            return list(self.tables[table].values())
        row = self._unique_row(table, unique, filters[unique])
        return [row] if row is not None else []

    def delete(self, table: str, row_id: int) -> None:
        self.spec(table)
        row = self.row(table, row_id)
        docs.before_delete(self, table, row)
        del self.tables[table][row_id]
        self._reindex(table, row, None)
        docs.after_delete(self, table, row)

    def insert(self, table: str, values: Mapping[str, Any]) -> Row:
        """Seeding/inspection: store typed values directly (read-only columns allowed)."""
        row: Row = {c: None for c in self.spec(table).columns}
        row.update(values)
        self._save(table, row)
        return row

    def _validated(self, table: str, spec: TableSpec, fields: Mapping[str, str], existing: Row | None) -> Row:
        errors: dict[str, str] = {}
        values: Row = {}
        for column, raw in fields.items():
            if column == "id" or column in spec.readonly:
                errors[column] = "is read-only"
            elif column not in spec.writable:
                errors[column] = "unknown column"
            elif len(raw) > MAX_LENGTH.get((table, column), len(raw)):
                errors[column] = f"is longer than {MAX_LENGTH[(table, column)]} characters"
            else:
                try:
                    values[column] = coerce(column, raw)
                except FieldError as exc:
                    errors[column] = str(exc)
        if errors:
            raise ApiError(400, errors)
        row = dict(existing) if existing else {c: None for c in spec.columns}
        row.update(values)
        docs.prepare(self, table, row, existing)
        self._check(table, spec, row)
        return row

    def _check(self, table: str, spec: TableSpec, row: Row) -> None:
        errors: dict[str, str] = {}
        for column in spec.required:
            if row.get(column) in (None, ""):
                errors[column] = "is required"
        for column in spec.unique:
            other = self.find(table, column, row.get(column))
            if other is not None and other["id"] != row.get("id"):
                errors[column] = f"{row.get(column)!r} already exists"
        for column, (ref_table, ref_column) in spec.refs.items():
            value = row.get(column)
            if value not in (None, "") and self.find(ref_table, ref_column, value) is None:
                errors[column] = f"{ref_table} {value!r} does not exist"
        if errors:
            raise ApiError(400, errors)

    def _save(self, table: str, row: Row) -> None:
        if row.get("id") is None:
            row["id"] = self.next_ids[table]
            self.next_ids[table] += 1
        self._reindex(table, self.tables[table].get(row["id"]), row)
        self.tables[table][row["id"]] = row

    def take_number(self) -> int:
        """A-29: invoice and credit-note numbers come from one sequence, assigned on booking."""
        number = self.next_number
        self.next_number += 1
        return number

    # -- snapshots and optional SQLite persistence ------------------------------------------------

    def snapshot(self) -> Row:
        return copy.deepcopy({"tables": self.tables, "next_ids": self.next_ids, "next_number": self.next_number})

    def restore(self, state: Row) -> None:
        self.tables, self.next_ids, self.next_number = state["tables"], state["next_ids"], state["next_number"]
        self._unique.clear()

    def persist(self) -> None:
        """Write the whole state to ``self.path`` (small accounts; one JSON document)."""
        if self.path is None:
            return
        text = self.dumps()
        with sqlite3.connect(self.path) as db:
            db.execute("CREATE TABLE IF NOT EXISTS state (id INTEGER PRIMARY KEY CHECK (id = 1), data TEXT)")
            db.execute("INSERT OR REPLACE INTO state (id, data) VALUES (1, ?)", (text,))

    def load(self, path: Path) -> bool:
        """Attach ``path``; load its state if it has one. Returns True if state was loaded."""
        self.path = path
        if not path.exists():
            return False
        with sqlite3.connect(path) as db:
            db.execute("CREATE TABLE IF NOT EXISTS state (id INTEGER PRIMARY KEY CHECK (id = 1), data TEXT)")
            found = db.execute("SELECT data FROM state WHERE id = 1").fetchone()
        if not found:
            return False
        self.loads(found[0])
        return True

    def dumps(self) -> str:
        """The whole state as one JSON document (Decimals kept exact), as :meth:`persist` writes it."""
        state = {"tables": {t: list(rows.values()) for t, rows in self.tables.items()},
                 "next_ids": self.next_ids, "next_number": self.next_number}  # fmt: skip
        return json.dumps(state, default=lambda v: {"$dec": str(v)})

    def loads(self, text: str) -> None:
        """Replace the state with one :meth:`dumps` wrote (a sandbox in another process read over HTTP)."""
        state = json.loads(text, object_hook=lambda o: Decimal(o["$dec"]) if set(o) == {"$dec"} else o)
        self.tables = {t: {r["id"]: r for r in state["tables"].get(t, [])} for t in SCHEMA}
        self._unique.clear()
        self.next_ids = {t: state["next_ids"].get(t, 1) for t in SCHEMA}
        self.next_number = state["next_number"]


def _order(rows: list[Row], order: str, spec: TableSpec) -> list[Row]:
    """``order=col[ desc][,col2[ desc]]`` (A-6); stable sorts applied last key first."""
    for item in reversed([o.strip() for o in order.split(",") if o.strip()]):
        column, _, direction = item.partition(" ")
        if column not in spec.columns:
            raise field_error("order", f"unknown column {column!r}")
        if direction.strip().lower() not in ("", "asc", "desc"):
            raise field_error("order", f"bad direction {direction!r}")
        rows = sorted(rows, key=lambda r: _sort_key(r.get(column)), reverse=direction.strip().lower() == "desc")
    return rows


def _sort_key(value: Any) -> tuple[int, Any]:
    return (0, 0) if value is None else (1, value)


def _limit(rows: list[Row], limit: str) -> list[Row]:
    """``limit=offset,count`` or ``limit=count`` (MySQL style)."""
    if not limit:
        return rows
    parts = [p.strip() for p in limit.split(",")]
    if len(parts) > 2 or not all(p.isdigit() for p in parts):
        raise field_error("limit", "must be offset,count")
    offset, count = (0, int(parts[0])) if len(parts) == 1 else (int(parts[0]), int(parts[1]))
    return rows[offset : offset + count]
