"""Reconciliation on real sandbox books: clean books agree (exit 0); planted differences are each found."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from agent.clock import ManualClock
from agent.dynaccount.models import CreditLineIn, InvoiceHeader, LineIn
from agent.reconcile import Gatherer, Period, Report, open_gatherer
from agent.sandbox.demo import Stack, place_orders, refund_some

from .conftest import drive  # type: ignore[import-not-found]

ROOT = Path(__file__).resolve().parents[2]


def period() -> Period:
    today = datetime.now(UTC).date()
    return Period(today - timedelta(days=1), today + timedelta(days=1))


async def report(s: Stack) -> Report:
    gatherer = await open_gatherer(s.services.woo, s.services.dyn, s.config.plan, s.services.journal)
    return await gatherer.report(period())


def write_config(s: Stack, path: Path) -> Path:
    c = s.config
    path.write_text(f"""
[woocommerce]
url = "{c.woocommerce.url}"
consumer_key = "{c.woocommerce.consumer_key.get_secret_value()}"
consumer_secret = "{c.woocommerce.consumer_secret.get_secret_value()}"
webhook_secret = "{c.woocommerce.webhook_secret.get_secret_value()}"
[dynaccount]
api_id = {c.dynaccount.api_id}
api_key = "{c.dynaccount.api_key.get_secret_value()}"
api_secret = "{c.dynaccount.api_secret.get_secret_value()}"
base_url = "{c.dynaccount.base_url}"
[shop]
name = "{c.shop.name}"
[journal]
path = "{path.parent / 'cli.sqlite3'}"
""")
    return path


async def cli(s: Stack, tmp_path: Path, *args: str) -> tuple[int, str]:
    """The real command in its own process, while the sandboxes keep serving on this loop."""
    config = write_config(s, tmp_path / "reconcile.toml")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "agent", "reconcile", "--config", str(config), *args, cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert "Traceback" not in err.decode(), err.decode()
    return int(proc.returncode or 0), out.decode()


async def booked_books(s: Stack, clock: ManualClock, orders: int = 10) -> list[int]:
    ids = await place_orders(s, orders)
    await drive(s, clock)
    # a restocking refund keeps a fee: its tax_lines describe its lines, not what was given back
    await refund_some(s, ids, {1: "line", 4: "amount", 6: "shipping", 9: "restocking"})
    await drive(s, clock)
    return ids


def day(d: date) -> str:
    return d.isoformat()


async def test_clean_books_agree_and_the_command_exits_0(stack: tuple[Stack, ManualClock], tmp_path: Path) -> None:
    s, clock = stack
    ids = await booked_books(s, clock)
    result = await report(s)
    assert result.ok, result.differences
    assert result.counts.orders == len(ids) and result.counts.invoices == len(ids)
    assert result.counts.refunds == 4 and result.counts.creditnotes == 4
    [dkk] = [t for t in result.currencies if t.currency == "DKK"]
    orders = [await s.shop.get_order(i) for i in ids]
    assert dkk.shop_sales == dkk.book_invoices == sum((o.total for o in orders if o.currency == "DKK"), Decimal(0))
    assert dkk.book_credits == sum(s.refunds.values(), Decimal(0))
    # VAT per code: invoices minus credit notes, and K25 carries Danish VAT
    assert "K25" in {c.code for c in result.codes}
    assert ("DE", Decimal(19)) in {(c.country, c.rate) for c in result.codes}  # whatever the OSS codes are named
    p = period()
    code, out = await cli(s, tmp_path, "--from", day(p.start), "--to", day(p.end))
    assert code == 0 and "everything agrees" in out, out


async def plant_extra_invoice(s: Stack, debtor: str) -> None:
    dyn = s.services.dyn
    header = InvoiceHeader(module_id_=debtor, time=int(datetime.now(UTC).timestamp()), currency_name="DKK")
    lines = [LineIn(product_id_="KRUS-001", name="Krus", qty=Decimal(1), price=Decimal("100.00"), vatcode_name="K25")]
    invoice = await dyn.create_invoice(header, lines, "woo/order-990001")
    await dyn.book_invoice(invoice.id)


async def plant_extra_creditnote(s: Stack, invoice_id: int, line_id: int) -> None:
    dyn = s.services.dyn
    note = await dyn.create_creditnote(invoice_id, [CreditLineIn(qty=Decimal(1), invoice_product_id=line_id)],
                                       "woo/refund-990002")
    await dyn.book_creditnote(note.id)


def invoice_row(s: Stack, order_id: int) -> dict:  # type: ignore[type-arg]
    [row] = [r for r in s.dyn.store.tables["debtor_invoice"].values() if r["requisition"] == f"woo/order-{order_id}"]
    return row


async def test_planted_differences_are_each_found_and_the_command_fails(
    stack: tuple[Stack, ManualClock], tmp_path: Path
) -> None:
    s, clock = stack
    ids = await booked_books(s, clock)
    store = s.dyn.store
    # 1. a missing invoice: gone from the books
    missing = invoice_row(s, ids[2])
    del store.tables["debtor_invoice"][missing["id"]]
    # 2. an invoice no order asked for
    await plant_extra_invoice(s, str(invoice_row(s, ids[0])["module_id_"]))
    # 3. one øre of VAT off on one invoice line (the total unchanged)
    off = invoice_row(s, ids[3])
    line = next(ln for ln in store.where("debtor_invoice_product", "invoice_id", off["id"]) if ln["vat_amount"] > 0)
    line["vat_amount"] += Decimal("0.01")
    off["vat_amount"] += Decimal("0.01")
    # 4. a credit note too many, against a booked invoice without refunds
    target = invoice_row(s, ids[5])
    first_line = store.where("debtor_invoice_product", "invoice_id", target["id"])[0]
    await plant_extra_creditnote(s, target["id"], first_line["id"])

    result = await report(s)
    found = {(d.kind, d.reference): d for d in result.differences}
    assert ("missing", f"woo/order-{ids[2]}") in found
    assert ("extra", "woo/order-990001") in found
    assert ("extra", "woo/refund-990002") in found
    vat = found[("amount", f"woo/order-{ids[3]}")]
    assert "VAT" in vat.message and vat.work_key == f"order:{ids[3]}"
    assert found[("extra", "woo/refund-990002")].work_key == f"order:{ids[5]}"  # linked through its invoice
    assert len(result.differences) == 5  # the VAT difference shows as a total VAT and a per-rate line
    assert not result.ok
    p = period()
    code, out = await cli(s, tmp_path, "--from", day(p.start), "--to", day(p.end))
    assert code == 1, out
    assert "woo/order-990001" in out and "woo/refund-990002" in out and f"order:{ids[2]}" in out


async def test_another_shops_documents_are_not_ours_and_old_references_still_match(
    stack: tuple[Stack, ManualClock],
) -> None:
    """Issue 19: a second shop's invoice for the same order number is counted as another document, never
    matched or called extra; an invoice an earlier version made as ``woo-order-N`` (its journal link names it)
    still matches its order."""
    s, clock = stack
    ids = await booked_books(s, clock)
    upgraded = invoice_row(s, ids[1])
    upgraded["requisition"] = f"woo-order-{ids[1]}"
    link = await s.services.journal.get_link("order", ids[1])
    assert link is not None
    await s.services.journal.put_link("order", ids[1], state=link.state, dyn_id=link.dyn_id, dyn_number=link.dyn_number,
                                      reference=f"woo-order-{ids[1]}", order_id=ids[1])  # fmt: skip
    other = invoice_row(s, ids[0])
    header = InvoiceHeader(module_id_=str(other["module_id_"]), time=int(datetime.now(UTC).timestamp()),
                           currency_name="DKK")  # fmt: skip
    lines = [LineIn(product_id_="KRUS-001", name="Krus", qty=Decimal(1), price=Decimal("100.00"), vatcode_name="K25")]
    await s.services.dyn.create_invoice(header, lines, f"shop-de/order-{ids[0]}")

    result = await report(s)
    assert result.ok, result.differences
    assert result.counts.invoices == len(ids) and result.counts.other_documents == 1


async def test_oss_of_the_quarter_equals_woocommerces_tax_lines(
    stack: tuple[Stack, ManualClock], tmp_path: Path
) -> None:
    s, clock = stack
    ids = await place_orders(s, 8)  # includes orders to DE, SE and FR (OSS) and DK, NO, DE reverse charge
    await drive(s, clock)
    today = datetime.now(UTC).date()
    quarter = f"{today.year}Q{(today.month - 1) // 3 + 1}"
    report = await Gatherer(s.services.woo, s.services.dyn, s.config.plan).oss(quarter)
    expected: dict[tuple[str, Decimal], Decimal] = {}
    for order_id in ids:
        order = await s.shop.get_order(order_id)
        for tax in order.tax_lines:
            if tax.country not in ("", "DK") and tax.rate_percent > 0:
                key = (tax.country, tax.rate_percent.normalize())
                expected[key] = expected.get(key, Decimal(0)) + tax.tax_total + tax.shipping_tax_total
    assert {"DE", "SE", "FR"} <= {c for c, _ in expected}
    assert {(r.country, r.rate): r.vat for r in report.rows} == expected
    code, out = await cli(s, tmp_path, "--oss", quarter, "--format", "csv")
    assert code == 0 and out.startswith("country,rate,currency,")
    assert {line.split(",")[0] for line in out.splitlines()[1:]} == {"DE", "SE", "FR"}
