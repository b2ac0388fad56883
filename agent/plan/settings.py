"""Planner settings: one frozen pydantic model per TOML table, unknown keys refused.

Every field carries a description because the lead embeds these tables in the agent config and
documents each key in ``config.example.toml``. Types stay TOML-friendly (str, int, bool, Decimal,
lists, string-keyed dicts). Money and percentages are Decimal; write them as strings in TOML
(``"0.05"``) to keep them exact, although pydantic also turns a TOML float into its shortest
decimal form.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from agent.plan.mapping import MappingSettings
from agent.plan.plausible import PlausibilitySettings
from agent.plan.references import check_name

MatchKey = Literal["email", "customer_id", "vat_number", "ean", "shared"]
DocumentMode = Literal["draft", "booked"]
Registration = Literal["at_once", "on_date_paid", "on_completed", "never"]

EU_COUNTRIES = (
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT",
    "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
)  # fmt: skip


# Gateways whose money has arrived when the order reaches a paid status (cod: on completion).
_PREPAID = ("stripe", "woocommerce_payments", "quickpay", "reepay_checkout", "mobilepay", "vipps_mobilepay",
            "viabill", "paypal", "ppcp-gateway", "cod")  # fmt: skip
# The bank or clearing account each common Danish gateway settles on (the sandbox's chart: 5830 clearing,
# 5820 bank, 5810 cash); change them to your own chart's accounts.
_ACCOUNTS = {"stripe": "5830", "woocommerce_payments": "5830", "quickpay": "5830", "reepay_checkout": "5830",
             "mobilepay": "5830", "vipps_mobilepay": "5830", "viabill": "5830", "paypal": "5830",
             "ppcp-gateway": "5830", "bacs": "5820", "cod": "5810"}  # fmt: skip


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TriggerSettings(_Table):
    order_statuses: list[str] = Field(
        default_factory=lambda: ["processing", "completed"],
        description="Order statuses that make an ordinary order an invoice (WooCommerce's paid statuses).",
    )
    renewal_statuses: list[str] = Field(
        default_factory=lambda: ["processing", "completed"],
        description="Statuses that invoice a subscription renewal order (order meta _subscription_renewal).",
    )


class FilterSettings(_Table):
    payment_methods: list[str] = Field(
        default_factory=list,
        description="Only invoice orders paid with these gateway ids (e.g. bacs, stripe); empty = all.",
    )
    countries: list[str] = Field(
        default_factory=list, description="Only invoice orders to these billing countries (ISO alpha-2); empty = all."
    )
    required_meta: dict[str, str] = Field(
        default_factory=dict,
        description='Order meta that must be present: key = value, or "*" for any non-empty value.',
    )
    forbidden_meta: dict[str, str] = Field(
        default_factory=dict,
        description='Order meta that skips the order when present: key = value, or "*" for any non-empty value.',
    )


class DebtorKind(_Table):
    group: str = Field(description="Dynaccount debtor group name for this kind of customer.")
    match: MatchKey = Field(
        description="How an existing debtor is found: email, customer_id (Woo user id), vat_number, ean, "
        "or shared (one debtor number for every such customer)."
    )
    shared_number: int | None = Field(None, ge=1, description="The debtor number used when match = shared.")

    @model_validator(mode="after")
    def _shared_needs_number(self) -> DebtorKind:
        if self.match == "shared" and self.shared_number is None:
            raise ValueError("match = shared needs shared_number")
        return self


class DebtorSettings(_Table):
    b2c: DebtorKind = Field(
        default_factory=lambda: DebtorKind(group="B2C", match="email"), description="Consumers (no VAT number, no EAN)."
    )
    b2b: DebtorKind = Field(
        default_factory=lambda: DebtorKind(group="B2B", match="vat_number"),
        description="Businesses: a VAT number was found in the order meta.",
    )
    ean: DebtorKind = Field(
        default_factory=lambda: DebtorKind(group="EAN", match="ean"),
        description="Public institutions: an EAN/GLN number was found in the order meta (wins over B2B).",
    )
    vat_number_meta_keys: list[str] = Field(
        default_factory=lambda: ["_billing_vat_number", "_vat_number", "vat_number", "_billing_eu_vat_number"],
        description="Order meta keys holding the customer's VAT number, first non-empty wins.",
    )
    ean_meta_keys: list[str] = Field(
        default_factory=lambda: ["_billing_ean", "economic_billing_ean", "_wc_billing/dynaccount/ean", "ean"],
        description="Order meta keys holding an EAN/GLN number, first non-empty wins.",
    )
    numbering: Literal["range", "customer_id_offset"] = Field(
        "range",
        description="New debtor numbers: range = next free number from range_start; customer_id_offset = "
        "Woo customer id + customer_id_offset (guests fall back to the range).",
    )
    range_start: int = Field(10000, ge=1, description="First debtor number the agent may allocate.")
    range_end: int | None = Field(
        None, ge=1, description="Last debtor number the agent may allocate (none = no end). Shops sharing one "
        "Dynaccount give each agent its own range, so two agents never allocate the same number.",
    )
    customer_id_offset: int = Field(100000, ge=0, description="Added to the Woo customer id (numbering = offset).")
    language_by_country: dict[str, str] = Field(
        default_factory=lambda: {"DK": "da", "GL": "da", "FO": "da"},
        description="Document language (Dynaccount lang) per billing country.",
    )
    default_language: str = Field("en", description="Language for countries not in language_by_country.")
    update_existing: bool = Field(
        False, description="customer.created/updated events update the matching debtor (name, address, email, "
        "VAT number, EAN, language); false = customer events change nothing in Dynaccount.",
    )
    create_on_customer_event: bool = Field(
        False, description="A customer event with no matching debtor creates one; false = the debtor is created "
        "at the customer's first order.",
    )


class ProductSettings(_Table):
    sync: Literal["never", "create_only", "create_and_update"] = Field(
        "create_only", description="Create missing Dynaccount products from order lines (by SKU), and update them?"
    )
    fallback: str = Field("MISC", description="Product number for order lines without a SKU.")
    shipping: str = Field("SHIPPING", description="Product number of shipping lines.")
    fee: str = Field("FEE", description="Product number of fee lines (positive and negative).")
    discount: str = Field("DISCOUNT", description="Product number of coupon discount lines (coupons = discount_line).")
    rounding: str = Field("ROUNDING", description="Product number of the rounding line (booked without VAT).")
    refund: str = Field("REFUND", description="Product number of amount-only refund credit lines.")
    kept_fee: str = Field(
        "RESTOCKING", description="Product number of the kept-fee line of a refund that pays back less than its lines."
    )
    on_shop_events: bool = Field(
        False, description="Follow the shop's catalogue on its own: product.created/updated/deleted webhooks "
        "create/update the Dynaccount product by SKU (as [products] sync allows), and `sync products` works.",
    )
    default_group: str = Field("Varer", description="Dynaccount product group of products no category maps.")
    group_by_category: dict[str, str] = Field(
        default_factory=dict,
        description='Dynaccount product group per WooCommerce category slug or name, or per tax class as '
        '"tax:<class>" (e.g. {"kaffe" = "Varer", "tax:zero-rate" = "Aviser"}); the first category that maps wins.',
    )
    unit: str = Field("stk", description="Dynaccount unit of synced products.")
    text: Literal["short_description", "description", "none"] = Field(
        "short_description", description="Which shop text goes into the Dynaccount product's text field (txt)."
    )
    no_sku: str = Field(
        "", description='Number for shop products without SKU, {id} replaced (e.g. "WOO-{id}"); "" = report them '
        "and leave them out.",
    )


class VatSettings(_Table):
    home_country: str = Field("DK", description="The shop's own VAT country.")
    eu_countries: list[str] = Field(
        default_factory=lambda: list(EU_COUNTRIES), description="EU member states (OSS and reverse charge)."
    )
    by_rate_id: dict[str, str] = Field(
        default_factory=dict, description='Explicit VAT code per WooCommerce tax rate id, e.g. {"7" = "K25"}; wins.'
    )
    by_country_rate: dict[str, str] = Field(
        default_factory=lambda: {"DK:25": "K25"},
        description='VAT code per tax-rate country and percent, key "CC:percent" (e.g. "DK:25" = "K25").',
    )
    oss_code: str = Field(
        "OSS-{country}-{rate}",
        description="VAT code for a taxed EU sale to another member state (OSS), for the shipped standard and "
        "reduced rates of every member state; {country} and {rate} (percent, e.g. 5.5) are replaced; empty = off.",
    )
    zero_rated: str = Field("K0", description="VAT code for untaxed domestic lines and 0 % home-country rates.")
    reverse_charge: str = Field(
        "EUV", description="VAT code for EU B2B reverse charge (is_vat_exempt = yes, EU country, VAT number)."
    )
    export: str = Field("EXP", description="VAT code for untaxed sales outside the EU.")
    no_vat: str = Field("", description='VAT code of the rounding line ("" = no VAT code).')
    tax_country: Literal["shipping", "billing"] = Field(
        "shipping", description="Address deciding the customer's country for untaxed orders (Woo's tax_based_on)."
    )


class InvoiceSettings(_Table):
    mode: DocumentMode = Field("booked", description="Create invoices as draft or book them.")
    rounding_tolerance: Decimal = Field(
        Decimal("0.05"), ge=0,
        description="Largest difference to Woo's total absorbed by the VAT-free rounding line; VAT per code must "
        "match exactly (tolerance zero).",
    )
    coupons: Literal["line_discount", "discount_line"] = Field(
        "line_discount",
        description="Book coupons as a percentage discount on each line, or as a negative DISCOUNT line per VAT code.",
    )
    text: str = Field("WooCommerce order {number}", description="Invoice text; {number} and {id} are replaced.")
    reference: str = Field(
        "order-{id}", description="Deterministic reference after the shop name (\"<shop>/order-17\"); {id} "
        "(unique) or {number} are replaced; must stay unique per order.",
    )
    payment_terms_by_method: dict[str, str] = Field(
        default_factory=lambda: {m: "Kontant" for m in _PREPAID},
        description="Dynaccount payment terms name per Woo payment method id.",
    )
    default_payment_terms: str = Field("Netto 8", description="Payment terms for unpaid orders of methods not listed.")
    paid_payment_terms: str = Field(
        "Kontant", description="Payment terms of an order WooCommerce marked paid (date_paid set), whatever the method."
    )
    renewal_text: str = Field(
        "WooCommerce order {number}: renewal of subscription {subscription}{period}",
        description="Invoice text of a subscription renewal; {number}, {id}, {subscription} and {period} "
        '(" for 2025-10-15 – 2025-11-14" when the subscription\'s schedule is known) are replaced.',
    )


def _default_registration() -> dict[str, Registration]:
    rules: dict[str, Registration] = {m: "at_once" for m in _PREPAID}
    return {**rules, "cod": "on_completed", "bacs": "on_date_paid", "cheque": "on_date_paid"}


class PaymentSettings(_Table):
    registration_by_method: dict[str, Registration] = Field(
        default_factory=_default_registration,
        description="When the payment is registered: at_once (with the invoice), on_date_paid (once Woo "
        "sets date_paid), on_completed (cash on delivery: when the order is completed) or never.",
    )
    default_registration: Registration = Field("on_date_paid", description="Registration for methods not listed.")
    account_by_method: dict[str, str] = Field(
        default_factory=lambda: dict(_ACCOUNTS),
        description="Ledger (bank/clearing) account a payment is booked on, per method (card, Quickpay, Stripe, "
        "MobilePay, ViaBill, PayPal: clearing; bacs: bank; cod: cash).",
    )
    default_account: str = Field("", description='Account for methods not listed ("" = the agent\'s default).')


class RefundSettings(_Table):
    mode: DocumentMode = Field("booked", description="Create credit notes as draft or book them.")
    draft_policy: Literal["update_draft", "wait_until_booked"] = Field(
        "update_draft",
        description="Refund of an order whose invoice is still a draft: re-plan the draft net of refunds, "
        "or wait until the invoice is booked.",
    )
    amount_only_vat_split: Literal["proportional"] = Field(
        "proportional",
        description="VAT of a refund without lines: split in the invoice's proportions per VAT code "
        "(remainder to the largest share).",
    )
    text: str = Field(
        "Credit note for WooCommerce order {number}", description="Credit note text when the refund has no reason."
    )
    reference: str = Field(
        "refund-{id}", description="Deterministic reference after the shop name (\"<shop>/refund-5\"); {id} is "
        "the refund id.",
    )


class ShopSettings(_Table):
    name: str = Field(
        "woo", description="Short name of this shop (letters, digits, '-', at most 15), part of every reference the "
        "agent writes (\"shop-dk/order-17\"); when not set, derived from [woocommerce] url's host "
        '("shop.example.dk" → "shop-example-dk").',
    )
    dimension_name: str = Field(
        "", description="Dynaccount dimension (department) put on this shop's invoices, credit notes and payment "
        'vouchers ("" = none); it must exist in Dynaccount.',
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_name(value)


class PlanSettings(_Table):
    shop: ShopSettings = Field(default_factory=ShopSettings, description="Which shop this agent books for.")
    mapping: MappingSettings = Field(default_factory=MappingSettings, description="Field mapping templates.")
    triggers: TriggerSettings = Field(default_factory=TriggerSettings, description="When an order is invoiced.")
    filters: FilterSettings = Field(default_factory=FilterSettings, description="Orders that are skipped.")
    debtors: DebtorSettings = Field(default_factory=DebtorSettings, description="Customer → debtor rules.")
    products: ProductSettings = Field(default_factory=ProductSettings, description="Product numbers and sync.")
    vat: VatSettings = Field(default_factory=VatSettings, description="WooCommerce tax → Dynaccount VAT codes.")
    invoice: InvoiceSettings = Field(default_factory=InvoiceSettings, description="Invoices.")
    payments: PaymentSettings = Field(default_factory=PaymentSettings, description="Payment registration.")
    refunds: RefundSettings = Field(default_factory=RefundSettings, description="Refunds → credit notes.")
    plausibility: PlausibilitySettings = Field(
        default_factory=PlausibilitySettings, description="Bounds beyond which an order is held."
    )
