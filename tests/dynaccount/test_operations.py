"""Typed operations end to end against the sandbox: invoices, credit notes, payments, stock."""

from __future__ import annotations

from decimal import Decimal

import pytest

from agent.dynaccount.client import DynaccountClient
from agent.dynaccount.errors import DynaccountNotFound, DynaccountRejected
from agent.dynaccount.models import CreditLineIn, DebtorFields, LineIn, ProductFields
from agent.plan.eurates import EU_VAT_RATES, percent_key
from agent.sandbox.dynaccount.seed import DEMO_PRODUCTS, SERVICE_PRODUCTS
from agent.sandbox.dynaccount.server import SandboxHandle

from .conftest import NOW, Clock, header, lines, make_debtor

D = Decimal


async def test_setup_tables(client: DynaccountClient) -> None:
    codes = {v.name: v.rate for v in await client.list_vatcodes()}
    assert codes["K25"] == 25 and codes["K0"] == codes["EUV"] == codes["EXP"] == 0
    assert (codes["OSS-DE-19"], codes["OSS-SE-25"], codes["OSS-FI-25.5"], codes["OSS-NL-21"]) == (19, 25, D("25.5"), 21)
    # reduced rates are codes of their own, each with its rate
    assert (codes["OSS-DE-7"], codes["OSS-FR-5.5"], codes["OSS-SE-12"], codes["OSS-NL-9"]) == (7, D("5.5"), 12, 9)
    assert not [c for c in codes if c.startswith("OSS-DK")]
    assert {c[4:6] for c in codes if c.startswith("OSS-")} == {cc for cc in EU_VAT_RATES if cc != "DK"}
    assert all(codes[f"OSS-{cc}-{percent_key(r)}"] == r for cc, rates in EU_VAT_RATES.items() if cc != "DK"
               for r in rates)
    terms = {t.name: t.days for t in await client.list_payment_terms()}
    assert terms == {"Kontant": 0, "Netto 8": 8, "Netto 14": 14, "Netto 30": 30}
    group = await client.get_debtor_group("B2B")
    assert group is not None and (group.payment_name, group.vatcode_name, group.ref_currency_name) == (
        "Netto 14", "K25", "DKK")  # fmt: skip
    assert await client.get_debtor_group("nope") is None


async def test_debtor_upsert_by_number(client: DynaccountClient) -> None:
    assert await client.find_debtor("1001") is None
    first = await client.upsert_debtor(DebtorFields(module_id_="1001", name="Jens", module_group_name="B2C"))
    second = await client.upsert_debtor(DebtorFields(module_id_="1001", name="Jens Hansen", email="j@x.dk"))
    assert first.id == second.id and second.name == "Jens Hansen"
    found = await client.find_debtor("1001")
    assert found is not None and found.email == "j@x.dk" and found.module_group_name == "B2C"


async def test_product_upsert_and_lookup(client: DynaccountClient) -> None:
    mug = await client.find_product("KRUS-001")
    assert mug is not None and mug.is_stocked and mug.in_stock == 40
    new = await client.upsert_product(ProductFields(product_id_="CAP-1", name="Kasket", price=D("99.00"),
                                                    product_group_name="Varer"))  # fmt: skip
    again = await client.upsert_product(ProductFields(product_id_="CAP-1", name="Kasket, blå", price=D("89.50")))
    assert new.id == again.id and again.price == D("89.50") and again.name == "Kasket, blå"
    assert (await client.find_product("SHIPPING")).is_stocked is False  # type: ignore[union-attr]
    assert await client.find_product("NOPE") is None


async def test_invoice_create_totals_book_and_find(client: DynaccountClient, clock: Clock) -> None:
    await make_debtor(client)
    invoice = await client.create_invoice(header(), lines(), "woo/order-17")
    assert not invoice.is_booked and invoice.number is None and len(invoice.lines) == 3
    # 2×79.20=158.40 (vat 39.60); 159.20-10%=143.28 (vat 35.82); 39.96 (vat 9.99)
    assert [ln.vat_amount for ln in invoice.lines] == [D("39.60"), D("35.82"), D("9.99")]
    assert invoice.net_amount == D("341.64") and invoice.vat_amount == D("85.41")
    assert invoice.total_amount == D("427.05")
    assert invoice.payment_name == "Kontant" and invoice.requisition == "woo/order-17"

    found = await client.find_invoice_by_reference("woo/order-17")
    assert found is not None and found.id == invoice.id
    booked = await client.book_invoice(invoice.id)
    assert booked.is_booked and booked.number == 1001 and booked.time_due == NOW
    again = await client.book_invoice(invoice.id)  # idempotent
    assert again.number == 1001
    found = await client.find_invoice_by_reference("woo/order-17")
    assert found is not None and found.is_booked and found.number == 1001
    assert await client.find_invoice_by_reference("woo/order-18") is None


async def test_booking_moves_stock(client: DynaccountClient, clock: Clock) -> None:
    await make_debtor(client)
    invoice = await client.create_invoice(header(), lines(), "woo/order-1")
    assert (await client.find_product("KRUS-001")).in_stock == 40  # type: ignore[union-attr]
    clock.now = NOW + 60
    await client.book_invoice(invoice.id)
    levels = {s.product_id_: s for s in await client.stock_levels()}
    assert levels["KRUS-001"].in_stock == 38 and levels["KRUS-001"].time_stock_change == NOW + 60
    assert levels["TSHIRT-M"].in_stock == 19
    assert levels["SHIPPING"].in_stock == 0 and not levels["SHIPPING"].is_stocked


async def test_booked_invoice_cannot_change(client: DynaccountClient) -> None:
    await make_debtor(client)
    invoice = await client.book_invoice((await client.create_invoice(header(), lines(), "woo/order-2")).id)
    with pytest.raises(DynaccountRejected) as info:
        await client.put("debtor_invoice", {"txt": "changed"}, invoice.id)
    assert "is_booked" in info.value.field_errors
    with pytest.raises(DynaccountRejected):
        await client.delete("debtor_invoice_product", invoice.lines[0].id)
    with pytest.raises(DynaccountRejected):
        await client.replace_invoice_lines(invoice.id, header(), lines()[:1])


async def test_replace_lines_of_draft(client: DynaccountClient) -> None:
    await make_debtor(client)
    invoice = await client.create_invoice(header(), lines(), "woo/order-3")
    new = await client.replace_invoice_lines(invoice.id, header(), lines()[:1])
    assert [ln.product_id_ for ln in new.lines] == ["KRUS-001"] and new.total_amount == D("198.00")
    assert new.requisition == "woo/order-3"


async def test_rejected_line_rolls_back_the_invoice(client: DynaccountClient, sandbox: SandboxHandle) -> None:
    await make_debtor(client)
    bad = [*lines(), LineIn(product_id_="NOPE", name="x", qty=D(1), price=D(1), vatcode_name="K25")]
    with pytest.raises(DynaccountRejected) as info:
        await client.create_invoice(header(), bad, "woo/order-4")
    assert info.value.line_errors == {3: {"product_id_": "product 'NOPE' does not exist"}}
    assert await client.find_invoice_by_reference("woo/order-4") is None
    bad_vat = [LineIn(product_id_="FEE", name="x", qty=D(1), price=D(1), vatcode_name="U25")]
    with pytest.raises(DynaccountRejected) as info:
        await client.create_invoice(header(), bad_vat, "woo/order-5")
    assert "vatcode_name" in info.value.line_errors[0]
    assert sandbox.store.tables["debtor_invoice"] == {}


async def test_invoice_pdf(client: DynaccountClient) -> None:
    await make_debtor(client)
    invoice = await client.book_invoice((await client.create_invoice(header(), lines(), "woo/order-6")).id)
    assert invoice.number is not None
    pdf = await client.invoice_pdf(invoice.number)
    assert pdf.startswith(b"%PDF-") and b"Faktura 1001" in pdf and pdf.rstrip().endswith(b"%%EOF")
    with pytest.raises(DynaccountNotFound):
        await client.invoice_pdf(9999)


async def _booked(client: DynaccountClient, ref: str = "woo/order-7") -> tuple[int, list[int]]:
    await make_debtor(client)
    invoice = await client.book_invoice((await client.create_invoice(header(), lines(), ref)).id)
    return invoice.id, [ln.id for ln in invoice.lines]


async def test_creditnote_partial_then_limits(client: DynaccountClient) -> None:
    invoice_id, line_ids = await _booked(client)
    note = await client.create_creditnote(invoice_id, [CreditLineIn(invoice_product_id=line_ids[0], qty=D(1))],
                                          "woo/refund-18", "Retur af 1 krus")  # fmt: skip
    assert note.total_amount == D("99.00") and note.lines[0].product_id_ == "KRUS-001" and not note.is_booked
    with pytest.raises(DynaccountRejected) as info:
        await client.create_creditnote(invoice_id, [CreditLineIn(invoice_product_id=line_ids[0], qty=D(2))], "r2")
    assert "remaining quantity 1" in info.value.line_errors[0]["qty"]
    assert await client.find_creditnote_by_reference("r2") is None  # rolled back
    booked = await client.book_creditnote(note.id)
    assert booked.is_booked and booked.number == 1002
    assert (await client.find_product("KRUS-001")).in_stock == 39  # type: ignore[union-attr]
    invoice = await client.get_invoice(invoice_id)
    assert invoice.lines[0].qty_credited == 1
    found = await client.find_creditnote_by_reference("woo/refund-18")
    assert found is not None and found.id == note.id and found.note == "Retur af 1 krus"
    assert (await client.creditnote_pdf(1002)).startswith(b"%PDF-")


async def test_free_credit_line_and_invoice_total_limit(client: DynaccountClient) -> None:
    invoice_id, _ = await _booked(client)  # total 427.05
    line = CreditLineIn(product_id_="REFUND", qty=D(1), price=D("100.00"), vatcode_name="K25", name="Delvis refusion")
    note = await client.create_creditnote(invoice_id, [line], "woo/refund-20")
    assert note.total_amount == D("125.00") and note.vat_amount == D("25.00")
    await client.book_creditnote(note.id)
    # the limit is the invoice total less booked credit notes, checked when the credit note is booked
    too_much = CreditLineIn(product_id_="REFUND", qty=D(1), price=D("241.65"), vatcode_name="K25")
    over = await client.create_creditnote(invoice_id, [too_much], "woo/refund-21")
    with pytest.raises(DynaccountRejected) as info:
        await client.book_creditnote(over.id)
    assert "302.05" in info.value.field_errors["total_amount"]
    exact = CreditLineIn(product_id_="REFUND", qty=D(1), price=D("241.64"), vatcode_name="K25")
    fits = await client.create_creditnote(invoice_id, [exact], "woo/refund-22")
    assert (await client.book_creditnote(fits.id)).total_amount == D("302.05")


async def test_full_credit_with_negative_rounding_line_books_whatever_the_line_order(client: DynaccountClient) -> None:
    """A-37: a credit note equal to the invoice books even when a running sum of its lines passes the total."""
    invoice_id, _ = await _booked(client)  # total 427.05
    first = CreditLineIn(product_id_="REFUND", qty=D(1), price=D("341.65"), vatcode_name="K25")  # 427.06
    rounding = CreditLineIn(product_id_="ROUNDING", qty=D(1), price=D("-0.01"), vatcode_name="")
    note = await client.create_creditnote(invoice_id, [first, rounding], "woo/refund-30")
    assert note.total_amount == D("427.05")
    assert (await client.book_creditnote(note.id)).is_booked


async def test_creditnote_needs_booked_invoice_and_own_lines(client: DynaccountClient) -> None:
    await make_debtor(client)
    draft = await client.create_invoice(header(), lines(), "woo/order-8")
    with pytest.raises(DynaccountRejected) as info:
        await client.create_creditnote(draft.id, [CreditLineIn(invoice_product_id=draft.lines[0].id, qty=D(1))], "x")
    assert "booked" in info.value.field_errors["invoice_id"]
    other_id, _ = await _booked(client, "woo/order-9")
    with pytest.raises(DynaccountRejected) as info:
        await client.create_creditnote(other_id, [CreditLineIn(invoice_product_id=draft.lines[0].id, qty=D(1))], "y")
    assert "invoice_product_id" in info.value.line_errors[0]


async def test_payment_registration_and_lookup(client: DynaccountClient) -> None:
    invoice_id, _ = await _booked(client)
    invoice = await client.get_invoice(invoice_id)
    assert not invoice.is_matched
    payment = await client.register_payment(invoice, invoice.total_amount, NOW, "woo-payment-17", bank_account="5820")
    assert payment.complete and payment.amount == D("427.05") and payment.invoice_number == 1001
    assert payment.debtor_number == "1001"
    found = await client.find_payment_by_reference("woo-payment-17")
    assert found == payment
    assert (await client.get_invoice(invoice_id)).is_matched
    assert await client.find_payment_by_reference("woo-payment-99") is None
    with pytest.raises(DynaccountRejected) as info:
        await client.register_payment(invoice, D(1), NOW, "woo-payment-18", bank_account="9999")
    assert "account_id_" in info.value.line_errors[0]
    assert await client.find_payment_by_reference("woo-payment-18") is None  # voucher rolled back


async def test_stock_levels_paged(client: DynaccountClient, sandbox: SandboxHandle) -> None:
    for i in range(1203):
        sandbox.store.insert("product", {"product_id_": f"P{i}", "name": "p", "in_stock": D(i), "is_stocked": True})
    before = sandbox.stats["requests"]
    levels = await client.stock_levels()
    seeded = 1203 + len(SERVICE_PRODUCTS) + len(DEMO_PRODUCTS)
    assert len(levels) == seeded and sandbox.stats["requests"] - before == 3
    assert len({lv.product_id_ for lv in levels}) == seeded
