"""Rows of a file → WooCommerce-shaped orders and refunds, so the one planner books them like any order.

Rows are grouped by order number. Each line is priced with WooCommerce's own arithmetic (a price incl.
VAT is split per line, half-up to the øre), and each VAT rate becomes a tax line whose country is the
customer's for EU consumers abroad (One-Stop-Shop) and the shop's otherwise, so ``[vat]`` maps it as it
maps a webshop rate. A row that cannot be read makes its order wait (reported with its line number);
the other orders of the file go on. Negative quantities (or every row of a credit-note file) become a
credit note against the order's invoice.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from agent.config_files import FileMapping
from agent.files import values
from agent.files.read import Row, RowError
from agent.ids import parse_work_key
from agent.plan.eurates import percent_key
from agent.plan.money import ZERO, cents
from agent.plan.settings import PlanSettings
from agent.plan.vat import map_tax_line
from agent.woo.models import Address, FeeLine, ItemTax, LineItem, MetaData, Order, ShippingLine, TaxLine

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Line:
    row: int
    sku: str
    name: str
    qty: Decimal
    price: Decimal
    rate: Decimal
    discount: Decimal

    def amounts(self, incl: bool, qty: Decimal | None = None) -> tuple[Decimal, Decimal, Decimal, Decimal]:
        """(subtotal, subtotal tax, total, total tax) of ``qty`` units, as WooCommerce computes them."""
        units = self.qty if qty is None else qty
        sub_net, sub_tax = split(cents(units * self.price), self.rate, incl)
        net, tax = split(cents(cents(units * self.price) * (HUNDRED - self.discount) / HUNDRED), self.rate, incl)
        return sub_net, sub_tax, net, tax


def split(amount: Decimal, rate: Decimal, incl: bool) -> tuple[Decimal, Decimal]:
    """(net, VAT) of an amount incl. or excl. VAT at ``rate`` percent."""
    if incl:
        tax = cents(amount * rate / (HUNDRED + rate))
        return amount - tax, tax
    return amount, cents(amount * rate / HUNDRED)


@dataclass(frozen=True)
class Credit:
    """Lines to credit on an order's invoice; ``key`` names it among the order's credit notes."""

    key: str
    lines: tuple[Line, ...]


@dataclass
class FileOrder:
    number: str
    first_line: int
    order: Order | None = None  # None in a credit-note file: the order comes from an earlier file
    credits: list[Credit] = field(default_factory=list)


@dataclass
class Built:
    orders: list[FileOrder] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def _rate(row: Row, mapping: FileMapping) -> Decimal:
    if row.values.get("vat_rate"):
        return values.rate(row.values["vat_rate"], mapping.decimal)
    if row.values.get("vat_class"):
        cls = row.values["vat_class"]
        if cls not in mapping.vat_classes:
            raise ValueError(f"unknown VAT class {cls!r} (add it to vat_classes)")
        return mapping.vat_classes[cls]
    return mapping.default_vat_rate


def parse_line(row: Row, mapping: FileMapping) -> Line:
    v = row.values
    for name in ("order_number", "quantity", "unit_price"):
        if not v.get(name):
            raise ValueError(f"{name} is missing")
    qty = values.number(v["quantity"], mapping.decimal)
    if qty == 0:
        raise ValueError("quantity is 0")
    discount = values.rate(v["discount"], mapping.decimal) if v.get("discount") else Decimal(0)
    return Line(row.line, v.get("sku", ""), v.get("line_name", "") or v.get("sku", ""), qty,
                values.number(v["unit_price"], mapping.decimal), _rate(row, mapping), discount)  # fmt: skip


def _first(rows: list[Row], name: str) -> str:
    return next((r.values[name] for r in rows if r.values.get(name)), "")


def _credit_key(rows: list[Row], lines: list[Line], number: str) -> str:
    if number:
        return f"no:{number}"
    text = "|".join(f"{ln.sku};{ln.name};{ln.qty};{ln.price};{ln.rate};{ln.discount}" for ln in lines)
    return "lines:" + hashlib.sha256(text.encode()).hexdigest()[:16]


class OrderBuilder:
    def __init__(self, mapping: FileMapping, settings: PlanSettings) -> None:
        self.mapping = mapping
        self.settings = settings

    def build(self, rows: list[Row]) -> Built:
        groups: dict[str, list[Row]] = defaultdict(list)
        built = Built()
        for row in rows:
            number = row.values.get("order_number", "")
            if not number:
                built.errors.append(RowError(row.line, "order_number is missing"))
                continue
            if parse_work_key(f"file:{self.mapping.source}:{number}") is None:
                built.errors.append(RowError(row.line, "order_number must be 1-100 printable characters", number[:100]))
                continue
            groups[number].append(row)
        for number, group in groups.items():
            errors = self._group(number, group, built)
            built.errors += errors
        return built

    def _group(self, number: str, rows: list[Row], built: Built) -> list[RowError]:
        lines, errors = [], []
        for row in rows:
            try:
                lines.append(parse_line(row, self.mapping))
            except ValueError as exc:
                errors.append(RowError(row.line, str(exc), number))
        if errors:
            return errors  # the order waits for a corrected file rather than being booked without a line
        result = FileOrder(number, rows[0].line)
        try:
            self._fill(result, rows, lines)
        except LineError as exc:
            return [RowError(exc.line, str(exc), number)]
        except ValueError as exc:
            return [RowError(rows[0].line, str(exc), number)]
        built.orders.append(result)
        return []

    def _fill(self, result: FileOrder, rows: list[Row], lines: list[Line]) -> None:
        if self.mapping.document == "creditnote":
            self._credits(result, rows, [_positive(ln) for ln in lines])
            return
        sold, returned = [ln for ln in lines if ln.qty > 0], [_positive(ln) for ln in lines if ln.qty < 0]
        if not sold:
            raise ValueError(f"order {result.number} has no line with a positive quantity")
        result.order = self.order(result.number, rows, sold)
        if returned:
            self._credits(result, rows, returned)

    def _credits(self, result: FileOrder, rows: list[Row], lines: list[Line]) -> None:
        by_number: dict[str, list[Line]] = defaultdict(list)
        numbers = {r.line: r.values.get("credit_number", "") for r in rows}
        for ln in lines:
            by_number[numbers.get(ln.row, "")].append(ln)
        for number, group in by_number.items():
            result.credits.append(Credit(_credit_key(rows, group, number), tuple(group)))

    # -- the order ---------------------------------------------------------------------------------

    def _country(self, rows: list[Row]) -> str:
        return (_first(rows, "country") or self.mapping.country).strip().upper()

    def tax_country(self, customer: str) -> str:
        """Where a rate's VAT is due: the consumer's EU country (OSS), else the shop's own."""
        vat = self.settings.vat
        return customer if customer in vat.eu_countries else vat.home_country

    def order(self, number: str, rows: list[Row], lines: list[Line]) -> Order:
        m, incl = self.mapping, self.mapping.prices_include_vat
        country = self._country(rows)
        rates = sorted({ln.rate for ln in lines if ln.rate > 0})
        extra_rate = m.shipping_vat_rate if m.shipping_vat_rate is not None else max([*rates, Decimal(0)])
        if extra_rate > 0 and extra_rate not in rates and (_first(rows, "shipping") or _first(rows, "fee")):
            rates.append(extra_rate)
        rate_ids = {r: i for i, r in enumerate(rates, start=1)}
        tax_country = self.tax_country(country)
        for ln in lines:
            self._check_rate(ln.rate, tax_country, ln.row)
        items = [self._item(i, ln, rate_ids, incl) for i, ln in enumerate(lines, start=1)]
        shipping = self._extra(rows, "shipping", extra_rate, rate_ids, incl)
        fee = self._extra(rows, "fee", extra_rate, rate_ids, incl)
        taxes: dict[int, Decimal] = defaultdict(lambda: ZERO)
        ship_taxes: dict[int, Decimal] = defaultdict(lambda: ZERO)
        for item in [*items, *fee]:
            for t in item.taxes:
                taxes[t.id] += t.total
        for s in shipping:
            for t in s.taxes:
                ship_taxes[t.id] += t.total
        tax_lines = [TaxLine(id=i, rate_id=i, rate_code=f"{tax_country}-VAT-{i}", label=f"{percent_key(r)} %",
                             tax_total=taxes[i], shipping_tax_total=ship_taxes[i], rate_percent=r)
                     for r, i in rate_ids.items()]  # fmt: skip
        net = sum((i.total for i in [*items, *shipping, *fee]), ZERO)
        tax = sum((i.total_tax for i in [*items, *shipping, *fee]), ZERO)
        total, day = self._total(rows, net + tax, number), self._date(rows)
        return Order(
            id=0, number=number, status="completed", currency=(_first(rows, "currency") or m.currency).upper(),
            prices_include_tax=incl, date_created_gmt=day, date_paid_gmt=day if m.paid else None,
            total=total, total_tax=tax, shipping_total=sum((s.total for s in shipping), ZERO),
            shipping_tax=sum((s.total_tax for s in shipping), ZERO),
            billing=self._address(rows, country), shipping=self._address(rows, country),
            payment_method=_first(rows, "payment_method") or m.payment_method, created_via="file",
            meta_data=self._meta(rows, country, rates), line_items=items, tax_lines=tax_lines,
            shipping_lines=shipping, fee_lines=fee,
        )  # fmt: skip

    def _check_rate(self, rate: Decimal, country: str, row: int) -> None:
        if rate == 0:
            return
        probe = TaxLine(id=1, rate_id=1, rate_code=f"{country}-VAT-1", rate_percent=rate)
        if map_tax_line(probe, self.settings.vat) is None:
            raise LineError(row, f"unknown VAT rate {percent_key(rate)} % for {country}: no VAT code in [vat] "
                                 f"by_country_rate (\"{country}:{percent_key(rate)}\")")  # fmt: skip

    def _item(self, item_id: int, ln: Line, rate_ids: dict[Decimal, int], incl: bool) -> LineItem:
        sub_net, sub_tax, net, tax = ln.amounts(incl)
        taxes = [ItemTax(id=rate_ids[ln.rate], total=tax, subtotal=sub_tax)] if ln.rate > 0 else []
        return LineItem(id=item_id, name=ln.name, quantity=ln.qty, sku=ln.sku or None, subtotal=sub_net,
                        subtotal_tax=sub_tax, total=net, total_tax=tax, taxes=taxes,
                        price=cents(sub_net / ln.qty))  # fmt: skip

    def _extra(self, rows: list[Row], what: str, rate: Decimal, rate_ids: dict[Decimal, int],
               incl: bool) -> list[ShippingLine] | list[FeeLine]:  # fmt: skip
        text = _first(rows, what)
        if not text:
            return []
        amount = values.number(text, self.mapping.decimal)
        net, tax = split(cents(amount), rate, incl)
        taxes = [ItemTax(id=rate_ids[rate], total=tax)] if rate > 0 else []
        if what == "shipping":
            return [ShippingLine(id=1, method_title="Shipping", total=net, total_tax=tax, taxes=taxes)]
        return [FeeLine(id=1, name="Fee", total=net, total_tax=tax, taxes=taxes)]

    def _total(self, rows: list[Row], computed: Decimal, number: str) -> Decimal:
        text = _first(rows, "total")
        if not text:
            return computed
        stated = values.number(text, self.mapping.decimal)
        if abs(stated - computed) > self.settings.invoice.rounding_tolerance:
            raise ValueError(f"order {number}: the file's total {stated} does not add up: the lines, shipping "
                             f"and fees make {computed} (difference {stated - computed})")  # fmt: skip
        return stated

    def _date(self, rows: list[Row]) -> str | None:
        text = _first(rows, "date")
        return values.day(text) if text else None

    def _address(self, rows: list[Row], country: str) -> Address:
        return Address(
            first_name=_first(rows, "name"), company=_first(rows, "company"), address_1=_first(rows, "address"),
            postcode=_first(rows, "postcode"), city=_first(rows, "city"), country=country,
            email=_first(rows, "email"), phone=_first(rows, "phone"),
        )  # fmt: skip

    def _meta(self, rows: list[Row], country: str, rates: list[Decimal]) -> list[MetaData]:
        debtors, vat = self.settings.debtors, self.settings.vat
        meta = []
        if (number := _first(rows, "vat_number")) and debtors.vat_number_meta_keys:
            meta.append(MetaData(key=debtors.vat_number_meta_keys[0], value=number))
            if not rates and country in vat.eu_countries and country != vat.home_country:
                meta.append(MetaData(key="is_vat_exempt", value="yes"))  # EU B2B without VAT: reverse charge
        if (ean := _first(rows, "ean")) and debtors.ean_meta_keys:
            meta.append(MetaData(key=debtors.ean_meta_keys[0], value=ean))
        return meta


class LineError(ValueError):
    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.line = line


def _positive(ln: Line) -> Line:
    return Line(ln.row, ln.sku, ln.name, abs(ln.qty), ln.price, ln.rate, ln.discount)
