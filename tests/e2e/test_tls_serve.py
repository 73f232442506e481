"""``manage.py serve`` with TLS files: wss:// beside ws://, security profiles 2 and 3 over real
TLS on loopback, with certificates made in the test (whitepaper edition 3, §2.4-2.5)."""

import http.client
import json
import ssl
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from ocpp.v16 import call
from websockets.exceptions import InvalidStatus

from chargepoints.models import ChargePoint
from csms.tenancy.models import Tenant
from tests.async_orm import orm
from tests.e2e.tls_files import TlsFiles
from tests.live_fixtures import wait_for_disconnects
from tests.ocpp_clients import PASSWORD, SUBPROTOCOL, basic_auth
from tests.ocpp_clients import ocpp_client as charge_point

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

BOOT = call.BootNotification(charge_point_vendor="Acme", charge_point_model="Wallbox 22")


@pytest.fixture(scope="module")
def tls_serve_env(files: TlsFiles) -> dict[str, str]:
    return {
        "TLS_ALT_CERT_FILE": files.path("server-rsa.pem"),
        "TLS_ALT_KEY_FILE": files.path("server-rsa-key.pem"),
    }


@pytest.fixture
def served(server: dict[str, Any], django_db_blocker: Any) -> Iterator[dict[str, Any]]:
    yield server
    # As ocpp_server (tests/live_fixtures.py): let the server finish with this test's sockets.
    with django_db_blocker.unblock():
        wait_for_disconnects()


def wss(server: dict[str, Any], identity: str) -> str:
    return f"wss://127.0.0.1:{server['tls']}/ocpp/acme/{identity}"


async def test_profile_3_charge_point_boots_accepted_over_wss_with_its_certificate(
    files: TlsFiles,
    served: dict[str, Any],
    make_charge_point: Callable[..., ChargePoint],
) -> None:
    await orm(make_charge_point, "CP-3")
    context = files.client_context(files.client("cp-3", "CP-3"))

    async with charge_point(wss(served, "CP-3"), "CP-3", ssl=context) as client:
        answer = await client.ask(BOOT)
        assert client.ws.subprotocol == SUBPROTOCOL

    assert answer.status == "Accepted"


async def test_profile_2_charge_point_authenticates_with_basic_auth_over_wss(
    files: TlsFiles,
    served: dict[str, Any],
    make_charge_point: Callable[..., ChargePoint],
) -> None:
    await orm(make_charge_point, "CP-2", password=PASSWORD)
    context = files.client_context()

    async with charge_point(
        wss(served, "CP-2"), "CP-2", ssl=context, additional_headers=basic_auth("CP-2", PASSWORD)
    ) as client:
        assert (await client.ask(BOOT)).status == "Accepted"
    with pytest.raises(InvalidStatus) as refusal:
        async with charge_point(
            wss(served, "CP-2"),
            "CP-2",
            ssl=context,
            additional_headers=basic_auth("CP-2", "x" * 20),
        ):
            pass
    assert refusal.value.response.status_code == 401


async def test_plain_ws_is_still_served_beside_tls(
    served: dict[str, Any], make_charge_point: Callable[..., ChargePoint], tenant: Tenant
) -> None:
    await orm(make_charge_point, "CP-1")
    async with charge_point(f"ws://127.0.0.1:{served['plain']}/ocpp/acme/CP-1", "CP-1") as client:
        assert (await client.ask(BOOT)).status == "Accepted"


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1_1 is deprecated:DeprecationWarning")
def test_tls_1_1_is_refused_by_the_server(files: TlsFiles, served: dict[str, Any]) -> None:
    # The client offers TLS 1.1 only (its OpenSSL needs security level 0 for that); the server's
    # "protocol version" alert is the refusal (whitepaper A00.FR.312, A00.FR.314).
    context = files.client_context(ciphers="DEFAULT:@SECLEVEL=0")
    context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_1
    with pytest.raises(ssl.SSLError, match="ALERT_PROTOCOL_VERSION"):
        healthz(served["tls"], context)
    # The same client with TLS 1.2 gets through: the refusal was the version, nothing else.
    context = files.client_context(tls_version=ssl.TLSVersion.TLSv1_2)
    assert healthz(served["tls"], context) == {"status": "ok"}


def test_https_serves_the_rest_of_the_product_too(files: TlsFiles, served: dict[str, Any]) -> None:
    assert healthz(served["tls"], files.client_context()) == {"status": "ok"}


def healthz(port: int, context: ssl.SSLContext) -> Any:
    connection = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=5)
    try:
        connection.request("GET", "/healthz")
        return json.loads(connection.getresponse().read())
    finally:
        connection.close()


def test_serve_announces_the_tls_port(served: dict[str, Any]) -> None:
    output = Path(served["log"]).read_text()
    assert f"Serving TLS on https://127.0.0.1:{served['tls']}/" in output
    assert "with client certificates" in output
