"""Every name Dynaccount has not published, in one place (spec §9).

The client's typed operations and the sandbox both read these constants, so a confirmed answer
from Dynaccount support is a one-line change here. Each constant cites its ASSUMPTION number;
docs/dynaccount.md lists them with the methods that use them.
"""

from __future__ import annotations

# booking is an action taking the internal id; it returns the booked row incl. its number.
BOOK_INVOICE_ACTION = "book_debtor_invoice"
BOOK_INVOICE_PARAM = "invoice_id"
BOOK_CREDITNOTE_ACTION = "book_debtor_creditnote"
BOOK_CREDITNOTE_PARAM = "creditnote_id"

# the document route takes the table name as document type and the human number.
INVOICE_DOCUMENT = "debtor_invoice"
CREDITNOTE_DOCUMENT = "debtor_creditnote"

# writable debtor_invoice columns = debtor_order's plus payment_name, payment_method.
INVOICE_TABLE = "debtor_invoice"
INVOICE_WRITABLE = (
    "module_id_", "dimension_name", "time", "currency_name", "time_delivery", "discount_percent",
    "requisition", "lang", "attention", "address", "zip", "city", "ref_country_name", "dlv_attention",
    "dlv_name", "dlv_address", "dlv_zip", "dlv_city", "dlv_ref_country_name", "txt", "payment_name",
    "payment_method",
)  # fmt: skip

# writable debtor_invoice_product columns = debtor_order_product's with invoice_id.
INVOICE_LINE_TABLE = "debtor_invoice_product"
INVOICE_LINE_WRITABLE = (
    "invoice_id", "product_id_", "vatcode_name", "product_type", "qty", "discount_type",
    "discount_value", "price", "name", "txt",
)  # fmt: skip

# the spelling of a percentage line discount.
DISCOUNT_TYPE_PERCENT = "PERCENT"

# Our choice (docs/dynaccount.md "Where the reference goes"): the agent's deterministic reference
# (e.g. "woo-order-17") goes in `requisition` on invoices and credit notes, and in `txt` on the
# payment voucher; lookups are equality filters on that column.
REFERENCE_COLUMN = "requisition"
PAYMENT_REFERENCE_COLUMN = "txt"

# A-39 (ours; the spec gives no column lengths): `requisition` on invoices and credit notes and a
# voucher's `txt` hold at most 50 characters; Dynaccount refuses a longer value. The agent never
# truncates a reference (it would no longer be found): a reference too long is held with its reason.
REFERENCE_MAX_LENGTH = 50

# a credit note is `put/debtor_creditnote/` with the credited invoice's internal id, then
# lines that either point at an invoice line (`invoice_product_id`, partial qty allowed) or are
# free credit lines on a product with their own price and VAT code.
CREDITNOTE_TABLE = "debtor_creditnote"
# A-40 (ours): a credit note takes its own `dimension_name` (department) like the invoice;
# the sandbox checks it names an existing dimension.
CREDITNOTE_WRITABLE = ("invoice_id", "time", "requisition", "note", "dimension_name")
CREDITNOTE_LINE_TABLE = "debtor_creditnote_product"
CREDITNOTE_LINE_WRITABLE = (
    "creditnote_id", "invoice_product_id", "product_id_", "vatcode_name", "qty", "discount_type",
    "discount_value", "price", "name", "txt",
)  # fmt: skip

# A-37 (ours; the spec is silent): Dynaccount refuses to BOOK a credit note whose total, added to the
# invoice's booked credit notes, exceeds the invoice's total; lines are not checked one by one as they
# are written (only their quantity against the invoice line, A-24). A full refund of an invoice with a
# negative rounding line therefore equals the invoice exactly and books. The agent also writes negative
# credit lines (rounding, kept fee) first, so a Dynaccount that checked the running sum would pass too.
CREDIT_LIMIT_CHECK = "on_booking"

# writable product columns.
PRODUCT_WRITABLE = ("product_id_", "name", "price", "product_group_name", "unit_name", "weight", "txt")

# the `payment` table holds payment terms; A-31: vatcode carries its rate in `rate` (percent)
# and its kind in `type`.
PAYMENT_TERMS_TABLE = "payment"
VATCODE_RATE_COLUMN = "rate"

# a customer payment is a voucher (enclosure) in a booking draft with two accounting rows:
# a LEDGER row debiting the bank/clearing account and a debtor row crediting the debtor
# (offset = debtor number) that carries the invoice number for matching.
PAYMENT_DRAFT_DEFAULT = "Webshop"
PAYMENT_LEDGER_TYPE = "LEDGER"
PAYMENT_DEBTOR_TYPE = "DEBTOR_PAYMENT"

# A-38 (ours): accounting rows are in the company currency (DKK) unless they name another in
# `currency_name` (spec §5 lists it writable on accounting); Dynaccount converts with its own rate
# when `currency_rate` is empty. A payment of a foreign-currency invoice carries the invoice's
# currency on both rows, so it settles the invoice in the currency it was issued in.
PAYMENT_CURRENCY_COLUMN = "currency_name"

# stock is read by polling all products (no "changed since" filter); stock moves
# when an invoice (out) or credit note (back in) is booked.
STOCK_COLUMNS = ("id", "product_id_", "in_stock", "in_order", "time_stock_change", "is_stocked")
STOCK_PAGE_SIZE = 500
