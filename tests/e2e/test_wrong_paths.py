"""A WebSocket handshake on a path that is not ``/ocpp/<tenant>/<identity>`` is refused with 404,
like an unknown charge point (OCPP-J §3.2), never a 500 with a traceback in the server's log
(the ``ocpp_server`` fixture fails the test on one)."""

import pytest

from chargepoints.models import ChargePoint
from tests.ocpp_clients import open_socket, raw_call, refused_status

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(
    "path",
    [
        "/ocpp/",
        "/ocpp",
        "/ocpp/acme",
        "/ocpp/acme/",
        "/ocpp/acme/CP-1/extra",
        "/ocpp/acme/CP-1/extra/",
        "/ocpp//CP-1",
        "/",
        "/somewhere/else",
    ],
)
async def test_a_path_without_tenant_and_identity_is_refused_with_404(
    ocpp_server: str, charge_point: ChargePoint, path: str
) -> None:
    assert await refused_status(ocpp_server + path) == 404


async def test_the_server_still_serves_charge_points_after_wrong_paths(
    ocpp_server: str, url: str
) -> None:
    for _ in range(3):
        assert await refused_status(ocpp_server + "/ocpp/acme") == 404
    async with open_socket(url) as ws:
        assert (await raw_call(ws, "Heartbeat", {}))[0] == 3
