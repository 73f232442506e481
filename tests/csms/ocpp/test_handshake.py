"""The WebSocket handshake in process (no server): accepted, refused with its HTTP status, and
the subprotocol rules (SPEC §3.2, OCPP-J §3 and §7).

The consumer is driven through the project's own routing and backend
(tests.csms.ocpp.communicator).
"""

import base64
from typing import Any

import pytest

from chargepoints.models import ChargePoint, RegistrationStatus
from chargepoints.services.charge_points import charge_point_create
from csms.tenancy.models import Tenant, UnknownChargePointPolicy
from tests.async_orm import orm
from tests.csms.ocpp.communicator import OcppCommunicator
from tests.ocpp_clients import PASSWORD

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("outbox_poller_per_test"),
]

TIMEOUT = 5.0


def communicator(
    identity: str,
    *,
    tenant_slug: str = "acme",
    subprotocols: list[str] | None = None,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> OcppCommunicator:
    return OcppCommunicator(
        f"/ocpp/{tenant_slug}/{identity}",
        headers=headers,
        subprotocols=["ocpp1.6"] if subprotocols is None else subprotocols,
    )


def basic_auth(user: str, password: str) -> list[tuple[bytes, bytes]]:
    return [(b"authorization", b"Basic " + base64.b64encode(f"{user}:{password}".encode()))]


async def refusal(ws: OcppCommunicator) -> tuple[int, list[tuple[bytes, bytes]], str]:
    """The HTTP status, headers and body the handshake was denied with (ASGI
    ``websocket.http.response``); fails if it was accepted or closed instead."""
    await ws.send_input({"type": "websocket.connect"})
    start = await ws.receive_output(TIMEOUT)
    assert start["type"] == "websocket.http.response.start", start
    body = await ws.receive_output(TIMEOUT)
    assert body["type"] == "websocket.http.response.body", body
    await ws.disconnect()
    return start["status"], start["headers"], body["body"].decode()


async def presence(identity: str) -> list[tuple[str, bool, str]]:
    return await orm(
        lambda: list(
            ChargePoint.objects.filter(identity=identity).values_list(
                "identity", "connected", "channel_name"
            )
        )
    )


@pytest.fixture
def charge_points(tenant: Tenant, other_tenant: Tenant) -> None:
    charge_point_create(tenant=tenant, identity="CP-1")
    charge_point_create(tenant=tenant, identity="SECURE-1", password=PASSWORD)
    charge_point_create(
        tenant=tenant, identity="OLD-FW", compat_overrides={"allow_missing_subprotocol": True}
    )
    charge_point_create(tenant=other_tenant, identity="GLOBEX-1")


# --- Accepted -----------------------------------------------------------------------------------


@pytest.mark.usefixtures("charge_points")
async def test_known_charge_point_is_accepted_with_ocpp16_and_present_until_it_closes() -> None:
    ws = communicator("CP-1", subprotocols=["ocpp2.0.1", "ocpp1.6"])

    assert await ws.connect(TIMEOUT) == (True, "ocpp1.6")
    [(_, connected, channel)] = await presence("CP-1")
    assert connected and channel

    await ws.disconnect()
    assert await presence("CP-1") == [("CP-1", False, "")]


@pytest.mark.usefixtures("charge_points")
async def test_right_basic_auth_password_is_accepted() -> None:
    ws = communicator("SECURE-1", headers=basic_auth("SECURE-1", PASSWORD))

    assert await ws.connect(TIMEOUT) == (True, "ocpp1.6")
    await ws.disconnect()


@pytest.mark.usefixtures("charge_points")
async def test_no_subprotocol_is_accepted_without_one_when_the_switch_is_on() -> None:
    ws = communicator("OLD-FW", subprotocols=[])

    assert await ws.connect(TIMEOUT) == (True, None)
    await ws.disconnect()


async def test_pending_policy_registers_an_unknown_charge_point_and_accepts_it(
    tenant: Tenant,
) -> None:
    tenant.unknown_charge_point_policy = UnknownChargePointPolicy.PENDING
    await orm(tenant.save, update_fields=["unknown_charge_point_policy"])
    ws = communicator("NEWCOMER")

    assert await ws.connect(TIMEOUT) == (True, "ocpp1.6")
    stored = await orm(ChargePoint.objects.get, tenant=tenant, identity="NEWCOMER")
    assert (stored.registration_status, stored.connected) == (RegistrationStatus.PENDING, True)
    await ws.disconnect()


# --- Refused ------------------------------------------------------------------------------------


@pytest.mark.usefixtures("charge_points")
@pytest.mark.parametrize(
    ("identity", "options", "status", "reason"),
    [
        ("CP-1", {"tenant_slug": "nobody"}, 404, "Unknown tenant"),
        ("STRANGER", {}, 404, "Unknown charge point"),
        ("GLOBEX-1", {}, 404, "Unknown charge point"),  # another tenant's identity
        ("SECURE-1", {}, 401, "Invalid credentials"),
        ("SECURE-1", {"headers": basic_auth("SECURE-1", "wrong-password-0000")}, 401, None),
        ("SECURE-1", {"headers": basic_auth("CP-1", PASSWORD)}, 401, None),
        ("X" * 49, {}, 400, "Charge point identity must be 1-48 chars"),
        ("CP-1", {"subprotocols": ["ocpp2.0.1", "ocpp1.5"]}, 400, "Subprotocol ocpp1.6 required"),
        ("CP-1", {"subprotocols": []}, 400, "Subprotocol ocpp1.6 required"),
    ],
    ids=[
        "unknown_tenant",
        "unknown_identity",
        "other_tenants_identity",
        "missing_credentials",
        "wrong_password",
        "wrong_user",
        "identity_too_long",
        "other_subprotocols_only",
        "no_subprotocol_without_the_switch",
    ],
)
async def test_refused_handshake_gets_its_http_status_and_changes_nothing(
    identity: str, options: dict[str, Any], status: int, reason: str | None
) -> None:
    before = await orm(lambda: list(ChargePoint.objects.order_by("pk").values()))

    refused_with, headers, body = await refusal(communicator(identity, **options))

    assert refused_with == status
    assert body == (reason or "Invalid credentials")
    assert (b"content-type", b"text/plain; charset=utf-8") in headers
    assert await orm(lambda: list(ChargePoint.objects.order_by("pk").values())) == before


@pytest.mark.usefixtures("charge_points")
async def test_no_subprotocol_switch_of_one_charge_point_does_not_admit_another() -> None:
    status, _, _ = await refusal(communicator("CP-1", subprotocols=[]))
    assert status == 400

    ws = communicator("OLD-FW", subprotocols=[])
    assert await ws.connect(TIMEOUT) == (True, None)
    await ws.disconnect()
