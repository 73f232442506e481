"""One identity, one live session (issue 16 §4): handshakes of one identity racing — in one
daphne process, and split over two — leave exactly one socket open and answering; every other
is closed with 4000, and presence names the survivor's connection."""

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from websockets.protocol import State

from chargepoints.models import ChargePoint
from csms.tenancy.models import Tenant
from tests.async_orm import orm
from tests.faults.figures import figures_keep
from tests.ocpp_clients import ocpp_url, open_socket, raw_call
from tests.servers import ServerProcess, daphne_running
from tests.waiting import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

RACING = 60


@pytest.fixture(scope="module")
def second_server(django_db_setup: None) -> Iterator[ServerProcess]:
    with daphne_running() as server:
        yield server


async def _race(urls: list[str]) -> list[Any]:
    opened = await asyncio.gather(*(open_socket(url) for url in urls), return_exceptions=True)
    sockets = [ws for ws in opened if not isinstance(ws, BaseException)]
    assert len(sockets) == len(urls), [ws for ws in opened if isinstance(ws, BaseException)]

    async def one_left() -> bool:
        return sum(ws.state is State.OPEN for ws in sockets) == 1

    await eventually(one_left, within=10)
    return sockets


async def _judge(sockets: list[Any], identity: str, case: str) -> None:
    live = [ws for ws in sockets if ws.state is State.OPEN]
    # The others' closing handshakes finish (their close code is known once they are closed).
    await asyncio.gather(
        *(asyncio.wait_for(ws.wait_closed(), 5) for ws in sockets if ws.state is not State.OPEN)
    )
    closed_codes = sorted({str(ws.close_code) for ws in sockets if ws.state is not State.OPEN})
    figures_keep(case, {"opened": len(sockets), "live": len(live), "close_codes": closed_codes})
    assert len(live) == 1
    assert closed_codes == ["4000"]
    answer = await raw_call(live[0], "Heartbeat", {})
    assert answer[0] == 3
    charge_point = await orm(ChargePoint.objects.get, identity=identity)
    assert charge_point.connected
    for ws in sockets:
        await ws.close()

    async def cleaned_up() -> bool:
        return not await orm(ChargePoint.objects.filter(identity=identity, connected=True).exists)

    assert await eventually(cleaned_up)


async def test_racing_handshakes_in_one_process_leave_one_live_session(
    ocpp_server: str, tenant: Tenant, charge_point: ChargePoint
) -> None:
    url = ocpp_url(ocpp_server, tenant.slug, charge_point.identity)
    sockets = await _race([url] * RACING)
    await _judge(sockets, charge_point.identity, "one_session_one_process")


@pytest.mark.skipif(
    not settings.REDIS_URL,
    reason="a takeover across processes travels through Redis (the in-memory layer is local)",
)
async def test_racing_handshakes_over_two_processes_leave_one_live_session(
    ocpp_server: str, second_server: ServerProcess, tenant: Tenant, charge_point: ChargePoint
) -> None:
    urls = [
        ocpp_url(server, tenant.slug, charge_point.identity)
        for server in (ocpp_server, second_server.ws_url)
    ] * (RACING // 2)
    sockets = await _race(urls)
    await _judge(sockets, charge_point.identity, "one_session_two_processes")
