"""``check --dynaccount``: mapped VAT codes Dynaccount lacks or whose rate differs (issue 12)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from agent.app import open_agent
from agent.config import parse_config
from agent.operations import check_vat_codes
from agent.sandbox.dynaccount.server import SandboxHandle

from .conftest import API_ID, API_KEY, API_SECRET


def _config(tmp_path: Path, base_url: str, **vat: object) -> object:
    return parse_config({
        "journal": {"path": str(tmp_path / "j.sqlite3")},
        "woocommerce": {"url": "http://127.0.0.1:9", "consumer_key": "ck", "consumer_secret": "cs",
                        "webhook_secret": "secret-123456"},
        "dynaccount": {"api_id": int(API_ID), "api_key": API_KEY, "api_secret": API_SECRET, "base_url": base_url},
        "vat": vat,
    })  # fmt: skip


async def test_shipped_defaults_match_the_seeded_codes(tmp_path: Path, sandbox: SandboxHandle) -> None:
    async with open_agent(_config(tmp_path, sandbox.base_url)) as agent:  # type: ignore[arg-type]
        assert await check_vat_codes(agent) == []


async def test_missing_and_wrong_rate_codes_are_reported_with_their_key(tmp_path: Path, sandbox: SandboxHandle) -> None:
    store = sandbox.store
    del store.tables["vatcode"][store.find("vatcode", "name", "OSS-FR-5.5")["id"]]
    store.find("vatcode", "name", "OSS-DE-7")["rate"] = Decimal(19)
    config = _config(tmp_path, sandbox.base_url, by_country_rate={"DK:25": "K25", "DE:19": "K25"})
    async with open_agent(config) as agent:  # type: ignore[arg-type]
        found = await check_vat_codes(agent)
    assert found == [
        "[vat] by_country_rate \"DE:19\": VAT code 'K25' has rate 25 % in Dynaccount, mapped for 19 %",
        "[vat] oss_code: VAT code 'OSS-DE-7' has rate 19 % in Dynaccount, mapped for 7 %",
        "[vat] oss_code: Dynaccount has no VAT code 'OSS-FR-5.5'; create it with rate 5.5 %",
    ]


async def test_a_shop_dimension_dynaccount_lacks_is_reported(tmp_path: Path, sandbox: SandboxHandle) -> None:
    """Issue 19: `check --dynaccount` names a [shop] dimension_name that is not a Dynaccount department."""
    for name, found in (("WEB-DK", []), ("WEB-XX", ["[shop] dimension_name 'WEB-XX' does not exist in Dynaccount "
                                                   "(create the department)"])):  # fmt: skip
        config = _config(tmp_path / name, sandbox.base_url)
        config = config.model_copy(update={"shop": config.shop.model_copy(update={"dimension_name": name})})  # type: ignore[attr-defined]
        async with open_agent(config) as agent:  # type: ignore[arg-type]
            assert await check_vat_codes(agent) == found
