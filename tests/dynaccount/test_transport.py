"""Low-level client against the sandbox over real HTTP: every method, paging, error mapping."""

from __future__ import annotations

import aiohttp
import pytest

from agent.dynaccount import signing
from agent.dynaccount.client import DynaccountClient
from agent.dynaccount.errors import (
    DynaccountAuthError,
    DynaccountBadResponse,
    DynaccountConnectionError,
    DynaccountNotFound,
    DynaccountRejected,
    DynaccountUnavailable,
)
from agent.sandbox.dynaccount.seed import OSS_CODES
from agent.sandbox.dynaccount.server import SandboxHandle

from .conftest import API_ID, API_KEY, API_SECRET


async def test_get_select_filter_order_limit(client: DynaccountClient) -> None:
    rows = await client.get("vatcode", select=["id", "name"], filters={"name": "K25"})
    assert rows == [{"id": 1, "name": "K25"}]
    oss = await client.get("vatcode", select=["name"], filters={"type": "SALE_OSS"}, order="name desc", limit=(0, 3))
    assert [r["name"] for r in oss] == ["OSS-SK-5", "OSS-SK-23", "OSS-SK-19"]
    assert (await client.get("vatcode", 1, select=["name", "rate"])) == [{"name": "K25", "rate": "25"}]


async def test_get_all_pages_until_short_page(client: DynaccountClient, sandbox: SandboxHandle) -> None:
    before = sandbox.stats["requests"]
    rows = await client.get_all("vatcode", select=["id"], page_size=25)
    assert len(OSS_CODES) == 79
    assert [r["id"] for r in rows] == list(range(1, 84))  # 4 fixed + 79 OSS codes, in id order
    assert sandbox.stats["requests"] - before == 4  # 25+25+25+8


async def test_put_creates_then_updates(client: DynaccountClient) -> None:
    created = await client.put("debtor", {"module_id_": "42", "name": "A/S Test", "module_group_name": "B2B"})
    assert created["id"] and created["name"] == "A/S Test"
    updated = await client.put("debtor", {"name": "A/S Test ÆØÅ"}, created["id"])
    assert updated["id"] == created["id"] and updated["name"] == "A/S Test ÆØÅ"
    assert (await client.get("debtor", filters={"module_id_": "42"}, select=["name"])) == [{"name": "A/S Test ÆØÅ"}]


async def test_insert_bulk_and_per_line_errors_are_atomic(client: DynaccountClient) -> None:
    rows = await client.insert_bulk("unit", [{"name": "m"}, {"name": "l"}])
    assert [r["name"] for r in rows] == ["m", "l"]
    with pytest.raises(DynaccountRejected) as info:
        await client.insert_bulk("unit", [{"name": "cm"}, {"name": "m"}, {"name": ""}])
    assert info.value.line_errors == {1: {"name": "'m' already exists"}, 2: {"name": "is required"}}
    assert "Line 1: name='m' already exists" in str(info.value)
    assert await client.get("unit", filters={"name": "cm"}) == []  # nothing from the failed bulk


async def test_delete(client: DynaccountClient) -> None:
    row = await client.put("unit", {"name": "pk"})
    await client.delete("unit", row["id"])
    assert await client.get("unit", filters={"name": "pk"}) == []
    with pytest.raises(DynaccountNotFound):
        await client.delete("unit", row["id"])


async def test_action_and_unknown_action(client: DynaccountClient) -> None:
    with pytest.raises(DynaccountNotFound):
        await client.action("no_such_action", {"x": 1})
    with pytest.raises(DynaccountRejected) as info:
        await client.action("book_debtor_invoice", {})
    assert "invoice_id" in info.value.field_errors


async def test_read_only_and_unknown_columns_rejected_with_field_errors(client: DynaccountClient) -> None:
    with pytest.raises(DynaccountRejected) as info:
        await client.put("product", {"product_id_": "X1", "name": "X", "in_stock": "5", "colour": "red"})
    assert info.value.field_errors == {"in_stock": "is read-only", "colour": "unknown column"}
    assert info.value.status == 400


async def test_unknown_reference_rejected(client: DynaccountClient) -> None:
    with pytest.raises(DynaccountRejected) as info:
        await client.put("debtor", {"module_id_": "7", "name": "N", "module_group_name": "Nope", "vatcode_name": "U25"})
    assert set(info.value.field_errors) == {"module_group_name", "vatcode_name"}
    with pytest.raises(DynaccountRejected) as info:
        await client.put("debtor_invoice", {"module_id_": "does-not-exist"})
    assert "module_id_" in info.value.field_errors


async def test_unknown_table_and_column_in_get(client: DynaccountClient) -> None:
    with pytest.raises(DynaccountNotFound):
        await client.get("invoice")
    with pytest.raises(DynaccountRejected) as info:
        await client.get("vatcode", select=["nope"])
    assert info.value.field_errors == {"nope": "unknown column"}


async def test_wrong_key_is_auth_error(sandbox: SandboxHandle, session: aiohttp.ClientSession) -> None:
    bad = DynaccountClient(session, base_url=sandbox.base_url, api_id=API_ID, api_key="f" * 40, api_secret=API_SECRET)
    with pytest.raises(DynaccountAuthError) as info:
        await bad.get("vatcode")
    assert info.value.status == 401
    assert "f" * 40 not in str(info.value)


async def test_wrong_secret_is_auth_error(sandbox: SandboxHandle, session: aiohttp.ClientSession) -> None:
    bad = DynaccountClient(session, base_url=sandbox.base_url, api_id=API_ID, api_key=API_KEY, api_secret="x" * 40)
    with pytest.raises(DynaccountAuthError) as info:
        await bad.put("unit", {"name": "zz"})
    assert info.value.status == 403
    assert sandbox.store.find("unit", "name", "zz") is None


async def _raw(session: aiohttp.ClientSession, sandbox: SandboxHandle, target: str, body: bytes, xhash: str,
               host: str) -> tuple[int, str]:  # fmt: skip
    url = __import__("yarl").URL(sandbox.base_url + target, encoded=True)
    headers = {"X-Hash": xhash, "Host": host, "Content-Type": "application/x-www-form-urlencoded"}
    async with session.post(url, data=body, headers=headers) as resp:
        return resp.status, await resp.text()


async def test_spec_vectors_hold_against_the_sandbox(sandbox: SandboxHandle, session: aiohttp.ClientSession) -> None:
    """The literal vector hashes, sent with the production Host, are accepted."""
    target = f"/v7/12345/{API_KEY}/get/vatcode/?select=id,name&name=K25"
    status, text = await _raw(session, sandbox, target, b"", "edbada4c6e398845f91c16da108eb9628dc45355",
                              "api.dynaccount.com")  # fmt: skip
    assert (status, text) == (200, '{"result": [{"id": 1, "name": "K25"}]}')
    body = b"module_id_=1001&name=Jens+Hansen&ref_country_name=DK"
    status, text = await _raw(session, sandbox, f"/v7/12345/{API_KEY}/put/debtor/", body,
                              "960df90c21db38cd92a21cc10d55482b2ccf6dd8", "api.dynaccount.com")  # fmt: skip
    assert status == 200 and '"name": "Jens Hansen"' in text


async def test_tampered_requests_are_rejected(sandbox: SandboxHandle, session: aiohttp.ClientSession) -> None:
    target = f"/v7/12345/{API_KEY}/put/debtor/"
    body = b"module_id_=1001&name=Jens+Hansen&ref_country_name=DK"
    host = sandbox.base_url.removeprefix("http://")
    good = signing.sign(host + target, body, API_SECRET)
    tampered_body = body.replace(b"Jens", b"Hans")
    assert (await _raw(session, sandbox, target, tampered_body, good, host))[0] == 403
    assert (await _raw(session, sandbox, target + "?x=1", body, good, host))[0] == 403
    assert (await _raw(session, sandbox, target, body, good, "evil.example"))[0] == 403
    assert (await _raw(session, sandbox, target, body, "0" * 40, host))[0] == 403
    assert sandbox.store.find("debtor", "module_id_", "1001") is None
    assert (await _raw(session, sandbox, target, body, good, host))[0] == 200


async def test_5xx_and_429_are_unavailable(client: DynaccountClient, sandbox: SandboxHandle) -> None:
    sandbox.faults.force("5xx", method="put")
    with pytest.raises(DynaccountUnavailable) as info:
        await client.put("unit", {"name": "a"})
    assert info.value.status == 503 and info.value.maybe_committed
    sandbox.faults.config.retry_after = 7
    sandbox.faults.force("429")
    with pytest.raises(DynaccountUnavailable) as info:
        await client.put("unit", {"name": "a"})
    assert (info.value.status, info.value.retry_after, info.value.maybe_committed) == (429, 7.0, False)
    assert (await client.put("unit", {"name": "a"}))["name"] == "a"


async def test_dropped_connection_is_connection_error(client: DynaccountClient, sandbox: SandboxHandle) -> None:
    sandbox.faults.force("drop", method="put")
    with pytest.raises(DynaccountConnectionError) as info:
        await client.put("unit", {"name": "b"})
    assert info.value.maybe_committed
    assert sandbox.store.find("unit", "name", "b") is None  # dropped before processing
    assert (await client.get("unit", filters={"name": "b"})) == []


async def test_non_json_body_and_missing_result(client: DynaccountClient, sandbox: SandboxHandle) -> None:
    sandbox.faults.force("bad_json")
    with pytest.raises(DynaccountBadResponse) as info:
        await client.get("vatcode")
    assert "not a JSON object" in str(info.value) and "text/html" in str(info.value)
    sandbox.faults.force("missing_result")
    assert await client.get("vatcode") == []


async def test_slow_response_times_out(sandbox: SandboxHandle, session: aiohttp.ClientSession) -> None:
    quick = DynaccountClient(session, base_url=sandbox.base_url, api_id=API_ID, api_key=API_KEY,
                             api_secret=API_SECRET, timeout=0.2)  # fmt: skip
    sandbox.faults.config.slow_ms = 1000
    sandbox.faults.force("slow")
    with pytest.raises(DynaccountConnectionError) as info:
        await quick.get("vatcode")
    assert "Timeout" in str(info.value) and not info.value.maybe_committed


async def test_connection_refused(session: aiohttp.ClientSession) -> None:
    nowhere = DynaccountClient(session, base_url="http://127.0.0.1:9", api_id=API_ID, api_key=API_KEY,
                               api_secret=API_SECRET, timeout=2)  # fmt: skip
    with pytest.raises(DynaccountConnectionError) as info:
        await nowhere.get("vatcode")
    assert API_KEY not in str(info.value)


async def test_one_keep_alive_connection(client: DynaccountClient, sandbox: SandboxHandle) -> None:
    for _ in range(5):
        await client.get("vatcode", select=["id"], limit=(0, 1))
    await client.put("unit", {"name": "c"})
    assert len(sandbox.peers) == 1
