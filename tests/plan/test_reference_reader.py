"""references.reader: what id a document's reference carries (the reference index's key, A-44)."""

from __future__ import annotations

import pytest

from agent.plan import references

READ = references.reader("shop-dk", "order-{id}", references.LEGACY_INVOICE)


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("shop-dk/order-17", 17),  # the shop's own format
        ("order-17", 17),  # the format before the shop went in front
        ("woo-order-17", 17),  # the legacy default
        ("shop-dk/order-017", 17),  # over-reports (a look-up more), never misses
        ("other/order-17", None),  # another shop's
        ("shop-dk/file-pos-17", None),  # a file's: always the real look-up
        ("shop-dk/order-", None),
        ("Faktura 17", None),  # hand-made
    ],
)
def test_reader(reference: str, expected: int | None) -> None:
    assert READ(reference) == expected


def test_number_formats_read_digits_only_and_own_means_the_shops_name() -> None:
    read = references.reader("s", "{number}", references.LEGACY_INVOICE)
    assert read("s/1234") == 1234 and read("s/WC-1234") is None
    assert references.own("s", "s/order-1") and not references.own("s", "sx/order-1")
    broken = references.reader("s", "{id}-{id}", references.LEGACY_INVOICE)  # unreadable: always a look-up
    assert broken("s/1-1") is None
