"""The spec's X-Hash vectors and the exact bytes the client builds."""

from __future__ import annotations

from decimal import Decimal

from agent.dynaccount import signing

API_KEY = "0123456789abcdef0123456789abcdef01234567"
SECRET = "fedcba9876543210fedcba9876543210fedcba98"


def test_vector_get_vatcode() -> None:
    path = signing.build_path("12345", API_KEY, "get", "vatcode")
    query = signing.build_query(select=["id", "name"], filters={"name": "K25"})
    target = signing.request_target(path, query)
    assert target == f"/v7/12345/{API_KEY}/get/vatcode/?select=id,name&name=K25"
    assert signing.sign("api.dynaccount.com" + target, b"", SECRET) == "edbada4c6e398845f91c16da108eb9628dc45355"


def test_vector_put_debtor() -> None:
    path = signing.build_path("12345", API_KEY, "put", "debtor")
    body = signing.build_body({"module_id_": 1001, "name": "Jens Hansen", "ref_country_name": "DK"})
    assert body == b"module_id_=1001&name=Jens+Hansen&ref_country_name=DK"
    assert signing.sign("api.dynaccount.com" + path, body, SECRET) == "960df90c21db38cd92a21cc10d55482b2ccf6dd8"


def test_verify_rejects_tampering() -> None:
    url = "api.dynaccount.com/v7/12345/k/put/debtor/"
    good = signing.sign(url, b"a=1", SECRET)
    assert signing.verify(url, b"a=1", SECRET, good)
    assert signing.verify(url, b"a=1", SECRET, good.upper())
    assert not signing.verify(url, b"a=2", SECRET, good)
    assert not signing.verify(url + "?x=1", b"a=1", SECRET, good)
    assert not signing.verify(url, b"a=1", SECRET, None)


def test_path_drops_empty_and_zero_segments() -> None:
    assert signing.build_path("1", "k", "put", "debtor", 0) == "/v7/1/k/put/debtor/"
    assert signing.build_path("1", "k", "put", "debtor", 15) == "/v7/1/k/put/debtor/15/"


def test_query_order_limit_and_reserved_words() -> None:
    query = signing.build_query(select=["id"], filters={"a": "x y&z"}, order=["name", "id desc"], limit=(500, 500))
    assert query == "select=id&a=x+y%26z&order=name,id+desc&limit=500,500"


def test_bulk_body_is_column_major_and_values_rendered() -> None:
    body = signing.build_bulk_body([{"a": Decimal("1.50"), "b": True}, {"a": 2, "b": None}])
    assert body == b"a[0]=1.50&a[1]=2&b[0]=YES&b[1]="


def test_utf8_values_are_percent_encoded() -> None:
    assert signing.build_body({"name": "Søren Æbelø"}) == b"name=S%C3%B8ren+%C3%86bel%C3%B8"
