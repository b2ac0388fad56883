"""Customer → debtor decision: kind (B2C/B2B/EAN), group, how to find or number it, its fields."""

from __future__ import annotations

from agent.plan.settings import DebtorKind, DebtorSettings, PlanSettings
from agent.plan.types import Address, DebtorDecision, DebtorKindName
from agent.woo.models import Address as WooAddress
from agent.woo.models import Order


def first_meta(order: Order, keys: list[str]) -> str:
    """The first non-empty value among ``keys`` (plugins store VAT numbers and EANs under different keys)."""
    for key in keys:
        value = order.meta(key)
        if value not in (None, "") and str(value).strip():
            return str(value).strip()
    return ""


def vat_number(order: Order, debtors: DebtorSettings) -> str:
    return first_meta(order, debtors.vat_number_meta_keys).replace(" ", "").upper()


def ean_number(order: Order, debtors: DebtorSettings) -> str:
    return first_meta(order, debtors.ean_meta_keys).replace(" ", "")


def _kind(ean: str, vat_no: str) -> DebtorKindName:
    # An EAN means a public institution invoiced through OIOUBL, even when a CVR is present too.
    if ean:
        return "ean"
    return "b2b" if vat_no else "b2c"


def _match_value(rule: DebtorKind, order: Order, vat_no: str, ean: str) -> tuple[str, str]:
    values = {
        "email": order.billing.email.strip().lower(),
        "customer_id": str(order.customer_id) if order.customer_id else "",
        "vat_number": vat_no,
        "ean": ean,
        "shared": str(rule.shared_number or ""),
    }
    if values[rule.match]:
        return rule.match, values[rule.match]
    # A guest has no customer id and an odd order may lack the key: email is always there at checkout.
    return "email", values["email"]


def _number(
    rule: DebtorKind, order: Order, debtors: DebtorSettings, linked: int | None
) -> tuple[int | None, int | None]:
    """(known number, allocate-from): exactly one of them is set."""
    if linked is not None:
        return linked, None
    if rule.match == "shared":
        return rule.shared_number, None
    if debtors.numbering == "customer_id_offset" and order.customer_id:
        return debtors.customer_id_offset + order.customer_id, None
    return None, debtors.range_start


def _lines(addr: WooAddress) -> str:
    # Dynaccount has one address field; the two Woo lines go on separate lines of it.
    return "\n".join(part for part in (addr.address_1.strip(), addr.address_2.strip()) if part)


def _delivery(order: Order) -> Address | None:
    ship, bill = order.shipping, order.billing
    if not (ship.address_1 or ship.city):
        return None
    same = (ship.full_name, ship.company, _lines(ship), ship.postcode, ship.city, ship.country) == (
        bill.full_name, bill.company, _lines(bill), bill.postcode, bill.city, bill.country)  # fmt: skip
    if same:
        return None
    return Address(name=ship.company or ship.full_name, attention=ship.full_name if ship.company else "",
                   address=_lines(ship), zip=ship.postcode, city=ship.city, country=ship.country)  # fmt: skip


def decide_debtor(order: Order, settings: PlanSettings, linked: int | None) -> DebtorDecision:
    debtors = settings.debtors
    vat_no, ean = vat_number(order, debtors), ean_number(order, debtors)
    kind = _kind(ean, vat_no)
    rule: DebtorKind = getattr(debtors, kind)
    match_key, match_value = _match_value(rule, order, vat_no, ean)
    number, allocate_from = _number(rule, order, debtors, linked)
    bill = order.billing
    country = bill.country or order.shipping.country
    return DebtorDecision(
        kind=kind, group=rule.group, match_key=match_key, match_value=match_value, number=number,
        allocate_from=allocate_from, name=bill.company or bill.full_name or bill.email,
        company=bill.company, attention=bill.full_name if bill.company else "", address=_lines(bill),
        zip=bill.postcode, city=bill.city, country=country, email=bill.email, phone=bill.phone,
        vat_number=vat_no, ean=ean, language=debtors.language_by_country.get(country, debtors.default_language),
        currency=order.currency, delivery=_delivery(order), allocate_to=debtors.range_end,
    )  # fmt: skip
