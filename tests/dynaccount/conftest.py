from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import aiohttp
import pytest

from agent.dynaccount.client import DynaccountClient
from agent.dynaccount.models import DebtorFields, InvoiceHeader, LineIn
from agent.sandbox.dynaccount.server import SandboxConfig, SandboxHandle, running_sandbox

API_ID = "12345"
API_KEY = "0123456789abcdef0123456789abcdef01234567"
API_SECRET = "fedcba9876543210fedcba9876543210fedcba98"
NOW = 1_735_000_000


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def sandbox(clock: Clock) -> AsyncIterator[SandboxHandle]:
    config = SandboxConfig(api_id=API_ID, api_key=API_KEY, api_secret=API_SECRET, clock=clock)
    async with running_sandbox(config) as handle:
        yield handle


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as s:
        yield s


@pytest.fixture
def client(sandbox: SandboxHandle, session: aiohttp.ClientSession) -> DynaccountClient:
    return DynaccountClient(
        session, base_url=sandbox.base_url, api_id=API_ID, api_key=API_KEY, api_secret=API_SECRET, timeout=5
    )


def header(debtor: str = "1001") -> InvoiceHeader:
    return InvoiceHeader(module_id_=debtor, time=NOW, txt="Webshop order 17")


def lines() -> list[LineIn]:
    return [
        LineIn(product_id_="KRUS-001", name="Kaffekrus", qty=Decimal(2), price=Decimal("79.20"), vatcode_name="K25"),
        LineIn(product_id_="TSHIRT-M", name="T-shirt M", qty=Decimal(1), price=Decimal("159.20"),
               vatcode_name="K25", discount_percent=Decimal(10)),
        LineIn(product_id_="SHIPPING", name="Fragt", qty=Decimal(1), price=Decimal("39.96"), vatcode_name="K25"),
    ]


async def make_debtor(client: DynaccountClient, number: str = "1001") -> None:
    await client.upsert_debtor(
        DebtorFields(module_id_=number, name="Jens Hansen", module_group_name="B2C", ref_country_name="DK",
                     email="jens@example.dk")
    )
