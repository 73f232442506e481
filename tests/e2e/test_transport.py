"""OCPP-J transport against a real daphne: handshake rules, presence, framing errors, the log."""

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from ocpp.exceptions import SecurityError
from ocpp.v16 import call
from websockets.exceptions import ConnectionClosed

from chargepoints.models import ChargePoint, OcppMessage, RegistrationStatus
from csms.tenancy.models import Tenant, UnknownChargePointPolicy
from tests.async_orm import orm
from tests.ocpp_clients import (
    PASSWORD,
    SUBPROTOCOL,
    basic_auth,
    ocpp_client,
    ocpp_url,
    open_socket,
    raw_call,
    recv_json,
    refused_status,
)
from tests.servers import ServerProcess
from tests.waiting import ANSWER_TIMEOUT, eventually

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

HEARTBEAT = json.dumps([2, "hb-after", "Heartbeat", {}])


def is_client_error(status: int) -> bool:
    # SPEC §3.2 fixes 401 and 404; other refusals only need to be a 4xx.
    return 400 <= status < 500


async def row(charge_point: ChargePoint) -> ChargePoint:
    return await orm(ChargePoint.objects.get, pk=charge_point.pk)


async def assert_still_served(ws: Any) -> None:
    """The connection stays up after a CALLERROR: the next CALL is answered."""
    await ws.send(HEARTBEAT)
    answer = await recv_json(ws)
    assert answer[:2] == [3, "hb-after"]
    assert "currentTime" in answer[2]


@pytest.fixture
def pending_tenant(tenant: Tenant) -> Tenant:
    tenant.unknown_charge_point_policy = UnknownChargePointPolicy.PENDING
    tenant.save(update_fields=["unknown_charge_point_policy"])
    return tenant


# --- Subprotocol ----------------------------------------------------------------------------------


async def test_server_selects_ocpp16_among_offered_subprotocols(
    cp_url: Callable[[str], str], charge_point: ChargePoint
) -> None:
    async with open_socket(cp_url("CP-1"), subprotocols=["ocpp2.0.1", SUBPROTOCOL]) as ws:
        assert ws.subprotocol == SUBPROTOCOL
        await assert_still_served(ws)


async def test_client_offering_only_other_subprotocols_is_refused(
    cp_url: Callable[[str], str], charge_point: ChargePoint
) -> None:
    status = await refused_status(cp_url("CP-1"), subprotocols=["ocpp2.0.1", "ocpp1.5"])
    assert is_client_error(status)
    assert not (await row(charge_point)).connected


async def test_client_offering_no_subprotocol_is_refused_by_default(
    cp_url: Callable[[str], str], charge_point: ChargePoint
) -> None:
    assert is_client_error(await refused_status(cp_url("CP-1"), subprotocols=[]))

    async def offline() -> bool:
        return not (await row(charge_point)).connected

    assert await eventually(offline)


async def test_no_subprotocol_accepted_when_the_charge_points_switch_is_on(
    cp_url: Callable[[str], str], make_charge_point: Callable[..., ChargePoint]
) -> None:
    await orm(make_charge_point, "OLD-FW", compat_overrides={"allow_missing_subprotocol": True})
    async with open_socket(cp_url("OLD-FW"), subprotocols=[]) as ws:
        assert ws.subprotocol is None
        await assert_still_served(ws)


async def test_switch_of_one_charge_point_does_not_admit_another(
    cp_url: Callable[[str], str], make_charge_point: Callable[..., ChargePoint]
) -> None:
    await orm(make_charge_point, "OLD-FW", compat_overrides={"allow_missing_subprotocol": True})
    await orm(make_charge_point, "NEW-FW")
    assert is_client_error(await refused_status(cp_url("NEW-FW"), subprotocols=[]))


# --- Identity in the URL --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("identity", "in_url"),
    [("Säule-7", "S%C3%A4ule-7"), ("CP 1", "CP%201")],
    ids=["non-ascii", "percent-encoded-space"],
)
async def test_a_url_encoded_identity_reaches_its_charge_point(
    cp_url: Callable[[str], str],
    make_charge_point: Callable[..., ChargePoint],
    identity: str,
    in_url: str,
) -> None:
    charge_point = await orm(make_charge_point, identity)
    async with open_socket(cp_url(in_url)) as ws:
        assert (await row(charge_point)).connected
        await assert_still_served(ws)


async def test_trailing_slash_is_accepted(
    cp_url: Callable[[str], str], charge_point: ChargePoint
) -> None:
    async with open_socket(cp_url("CP-1") + "/") as ws:
        assert (await row(charge_point)).connected
        await assert_still_served(ws)


async def test_identity_of_48_characters_is_accepted_and_49_refused(
    cp_url: Callable[[str], str], pending_tenant: Tenant
) -> None:
    longest, too_long = "L" * 48, "L" * 49

    assert is_client_error(await refused_status(cp_url(too_long)))
    async with open_socket(cp_url(longest)) as ws:
        boot = await raw_call(
            ws, "BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"}
        )
        assert boot[2]["status"] == "Pending"

    identities = await orm(lambda: list(ChargePoint.objects.values_list("identity", flat=True)))
    assert identities == [longest]


# --- Basic auth -----------------------------------------------------------------------------------


@pytest.fixture
def secured(make_charge_point: Callable[..., ChargePoint]) -> ChargePoint:
    return make_charge_point("SECURE-1", password=PASSWORD)


async def test_basic_auth_with_the_right_password_is_accepted(
    cp_url: Callable[[str], str], secured: ChargePoint
) -> None:
    async with open_socket(cp_url("SECURE-1"), headers=basic_auth("SECURE-1", PASSWORD)) as ws:
        await assert_still_served(ws)
        assert (await row(secured)).connected


@pytest.mark.parametrize(
    "headers",
    [
        None,
        basic_auth("SECURE-1", "wrong-password-0000"),
        basic_auth("OTHER-ID", PASSWORD),
        {"Authorization": "Bearer " + PASSWORD},
        {"Authorization": "Basic not-base64!"},
    ],
    ids=["missing", "wrong_password", "wrong_user", "not_basic", "garbled"],
)
async def test_bad_or_missing_credentials_are_refused_with_401_and_nothing_stored(
    cp_url: Callable[[str], str],
    daphne_server: ServerProcess,
    secured: ChargePoint,
    headers: dict[str, str] | None,
) -> None:
    log_offset = daphne_server.log_size()

    assert await refused_status(cp_url("SECURE-1"), headers=headers) == 401

    security_log = daphne_server.log_since(log_offset)
    assert "csms.security refused acme/SECURE-1" in security_log
    assert PASSWORD not in security_log

    after = await row(secured)
    assert not after.connected
    assert (after.connected_at, after.last_seen, after.channel_name) == (None, None, "")
    assert await orm(OcppMessage.objects.count) == 0


# --- Unknown identities ---------------------------------------------------------------------------


async def test_unknown_identity_is_refused_with_404_under_policy_reject(
    cp_url: Callable[[str], str], tenant: Tenant
) -> None:
    assert tenant.unknown_charge_point_policy == UnknownChargePointPolicy.REJECT
    assert await refused_status(cp_url("STRANGER")) == 404
    assert await orm(ChargePoint.objects.count) == 0


async def test_unknown_tenant_is_refused_with_404(
    ocpp_server: str, charge_point: ChargePoint
) -> None:
    assert await refused_status(ocpp_url(ocpp_server, "nobody", "CP-1")) == 404
    assert not (await row(charge_point)).connected


async def test_identity_of_another_tenant_is_unknown_here(
    ocpp_server: str, other_tenant: Tenant, make_charge_point: Callable[..., ChargePoint]
) -> None:
    await orm(make_charge_point, "GLOBEX-1", tenant=other_tenant)
    assert await refused_status(ocpp_url(ocpp_server, "acme", "GLOBEX-1")) == 404


async def test_pending_policy_registers_and_serves_only_boot_until_accepted(
    cp_url: Callable[[str], str], pending_tenant: Tenant
) -> None:
    async with ocpp_client(cp_url("NEWBIE"), "NEWBIE") as cp:
        created = await orm(ChargePoint.objects.get, tenant=pending_tenant, identity="NEWBIE")
        assert created.registration_status == RegistrationStatus.PENDING
        assert created.connected

        boot = await cp.ask(call.BootNotification(charge_point_vendor="V", charge_point_model="M"))
        assert boot.status == "Pending"
        assert boot.interval == 60  # settings.OCPP_BOOT_RETRY_INTERVAL: when to boot again
        with pytest.raises(SecurityError):
            await cp.ask(call.Heartbeat())
        with pytest.raises(SecurityError):
            await cp.ask(
                call.StatusNotification(connector_id=1, error_code="NoError", status="Available")
            )

        # Staff accept it while it is connected.
        await orm(
            ChargePoint.objects.filter(pk=created.pk).update,
            registration_status=RegistrationStatus.ACCEPTED,
        )
        heartbeat = await cp.ask(call.Heartbeat())
        assert heartbeat.current_time
        boot = await cp.ask(call.BootNotification(charge_point_vendor="V", charge_point_model="M"))
        assert boot.status == "Accepted"
        assert 300 <= boot.interval <= 330


async def test_rejected_charge_point_gets_only_boot_answered(
    cp_url: Callable[[str], str], make_charge_point: Callable[..., ChargePoint]
) -> None:
    await orm(make_charge_point, "BANNED", registration_status=RegistrationStatus.REJECTED)
    async with ocpp_client(cp_url("BANNED"), "BANNED") as cp:
        boot = await cp.ask(call.BootNotification(charge_point_vendor="V", charge_point_model="M"))
        assert boot.status == "Rejected"
        with pytest.raises(SecurityError):
            await cp.ask(call.Authorize(id_tag="ANY"))


async def test_reconnect_without_boot_notification_is_served_at_once(
    cp_url: Callable[[str], str], charge_point: ChargePoint
) -> None:
    async with ocpp_client(cp_url("CP-1"), "CP-1") as cp:
        assert (await cp.ask(call.Heartbeat())).current_time
        await cp.ask(
            call.StatusNotification(connector_id=1, error_code="NoError", status="Available")
        )
        answer = await cp.ask(call.Authorize(id_tag="UNKNOWN"))
    assert answer.id_tag_info == {"status": "Invalid"}
    assert (await row(charge_point)).last_boot_at is None


# --- Presence and takeover ------------------------------------------------------------------------


async def test_presence_is_set_on_connect_and_cleared_on_disconnect(
    cp_url: Callable[[str], str], charge_point: ChargePoint
) -> None:
    async with open_socket(cp_url("CP-1")) as ws:
        await assert_still_served(ws)
        online = await row(charge_point)
        assert online.connected
        assert online.connected_at is not None
        assert online.last_seen is not None
        assert online.channel_name

    async def offline() -> ChargePoint | None:
        current = await row(charge_point)
        return None if current.connected else current

    after = await eventually(offline)
    assert after is not None, "still connected after the socket closed"
    assert after.channel_name == ""
    assert after.last_seen >= online.last_seen


async def test_second_connection_of_an_identity_takes_over(
    cp_url: Callable[[str], str], charge_point: ChargePoint
) -> None:
    async with open_socket(cp_url("CP-1")) as first:
        await assert_still_served(first)
        first_channel = (await row(charge_point)).channel_name
        async with open_socket(cp_url("CP-1")) as second:
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(first.recv(), ANSWER_TIMEOUT)
            assert first.close_code == 4000

            await assert_still_served(second)
            current = await row(charge_point)
            assert current.connected
            assert current.channel_name not in ("", first_channel)

    async def offline() -> bool:
        return not (await row(charge_point)).connected

    assert await eventually(offline)


# --- CALLERRORs: every path keeps the socket open -------------------------------------------------

BIG = "x" * 70_000
ERROR_CASES = [
    # Issue 16 §5: the id of a frame that starts like a CALL is named even when it is no JSON.
    ("invalid_json", '[2, "j1", "Heartbeat", {', "j1", "FormationViolation"),
    ("not_an_array", '{"messageTypeId": 2}', "-1", "FormationViolation"),
    ("too_short", '[2, "s1"]', "s1", "FormationViolation"),
    ("message_id_not_a_string", '[2, 7, "Heartbeat", {}]', "-1", "FormationViolation"),
    ("payload_not_an_object", '[2, "p0", "Heartbeat", []]', "p0", "FormationViolation"),
    ("unknown_message_type", '[5, "m1", "Heartbeat", {}]', "m1", "ProtocolError"),
    ("unknown_action", '[2, "a1", "FlyToTheMoon", {}]', "a1", "NotImplemented"),
    ("central_system_action", '[2, "a2", "Reset", {"type": "Soft"}]', "a2", "NotSupported"),
    (
        "type",
        '[2, "v1", "StatusNotification", '
        '{"connectorId": "one", "errorCode": "NoError", "status": "Available"}]',
        "v1",
        "TypeConstraintViolation",
    ),
    (
        "required",
        '[2, "v2", "BootNotification", {"chargePointVendor": "V"}]',
        "v2",
        "OccurenceConstraintViolation",
    ),
    (
        "max_length",
        f'[2, "v3", "Authorize", {{"idTag": "{"T" * 21}"}}]',
        "v3",
        "PropertyConstraintViolation",
    ),
    (
        "enum",
        '[2, "v4", "StatusNotification", '
        '{"connectorId": 1, "errorCode": "NoError", "status": "Exploded"}]',
        "v4",
        "PropertyConstraintViolation",
    ),
    ("additional_property", '[2, "v5", "Heartbeat", {"extra": 1}]', "v5", "FormationViolation"),
    (
        "oversized",
        f'[2, "big-1", "DataTransfer", {{"vendorId": "v", "data": "{BIG}"}}]',
        "big-1",
        "FormationViolation",
    ),
]


@pytest.mark.parametrize(
    ("frame", "message_id", "code"),
    [case[1:] for case in ERROR_CASES],
    ids=[case[0] for case in ERROR_CASES],
)
async def test_bad_frame_gets_a_callerror_and_the_socket_stays_open(
    cp_url: Callable[[str], str], charge_point: ChargePoint, frame: str, message_id: str, code: str
) -> None:
    async with open_socket(cp_url("CP-1")) as ws:
        await ws.send(frame)
        answer = await recv_json(ws)
        assert answer[:3] == [4, message_id, code]
        assert isinstance(answer[3], str)
        assert answer[3]
        assert isinstance(answer[4], dict)
        assert "Traceback" not in answer[3]
        await assert_still_served(ws)


async def test_binary_frame_gets_a_formation_violation(
    cp_url: Callable[[str], str], charge_point: ChargePoint
) -> None:
    async with open_socket(cp_url("CP-1")) as ws:
        await ws.send(b'[2, "b1", "Heartbeat", {}]')
        assert (await recv_json(ws))[:3] == [4, "-1", "FormationViolation"]
        await assert_still_served(ws)


async def test_frame_just_under_the_size_limit_is_served(
    cp_url: Callable[[str], str], charge_point: ChargePoint
) -> None:
    async with open_socket(cp_url("CP-1")) as ws:
        answer = await raw_call(ws, "DataTransfer", {"vendorId": "v", "data": "y" * 60_000})
    assert answer[0] == 3
    assert answer[2] == {"status": "UnknownVendorId"}


async def test_message_id_longer_than_36_characters_is_a_formation_violation(
    cp_url: Callable[[str], str], charge_point: ChargePoint
) -> None:
    async with open_socket(cp_url("CP-1")) as ws:
        await ws.send(json.dumps([2, "i" * 40, "Heartbeat", {}]))
        assert (await recv_json(ws))[:3] == [4, "i" * 36, "FormationViolation"]
        await assert_still_served(ws)


async def test_results_for_unknown_calls_are_not_answered(
    cp_url: Callable[[str], str], charge_point: ChargePoint
) -> None:
    async with open_socket(cp_url("CP-1")) as ws:
        await ws.send(json.dumps([3, "never-sent", {}]))
        await ws.send(json.dumps([4, "never-sent-2", "GenericError", "", {}]))
        # The next thing the charger hears is the answer to its own CALL.
        await assert_still_served(ws)
    logged = await orm(
        lambda: list(
            OcppMessage.objects.filter(charge_point=charge_point, message_type__in=[3, 4])
            .filter(direction="in")
            .order_by("id")
            .values_list("message_type", "message_id")
        )
    )
    assert logged == [(3, "never-sent"), (4, "never-sent-2")]


async def test_calls_sent_without_waiting_are_all_answered_in_order(
    cp_url: Callable[[str], str], charge_point: ChargePoint
) -> None:
    frames = [
        [2, "q1", "Heartbeat", {}],
        [
            2,
            "q2",
            "StatusNotification",
            {"connectorId": 1, "errorCode": "NoError", "status": "Available"},
        ],
        [2, "q3", "NoSuchAction", {}],
        [2, "q4", "Authorize", {"idTag": "NOBODY"}],
        [2, "q5", "Heartbeat", {"bad": True}],
        [2, "q6", "Heartbeat", {}],
    ]
    async with open_socket(cp_url("CP-1")) as ws:
        for frame in frames:
            await ws.send(json.dumps(frame))
        await ws.send("not json at all")
        answers = [await recv_json(ws) for _ in range(len(frames) + 1)]

    assert [answer[:2] for answer in answers] == [
        [3, "q1"],
        [3, "q2"],
        [4, "q3"],
        [3, "q4"],
        [4, "q5"],
        [3, "q6"],
        [4, "-1"],
    ]
    assert answers[3][2] == {"idTagInfo": {"status": "Invalid"}}


# --- The message log ------------------------------------------------------------------------------


async def test_message_log_holds_every_frame_in_and_out_verbatim(
    cp_url: Callable[[str], str], charge_point: ChargePoint
) -> None:
    sent = [
        json.dumps(
            [2, "log-1", "BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"}]
        ),
        json.dumps([2, "log-2", "Heartbeat", {}]),
        json.dumps([2, "log-3", "Heartbeat", {"extra": 1}]),
        json.dumps([2, "log-4", "FlyToTheMoon", {}]),
        "not json",
    ]
    received = []
    async with open_socket(cp_url("CP-1")) as ws:
        for text in sent:
            await ws.send(text)
            received.append(await asyncio.wait_for(ws.recv(), ANSWER_TIMEOUT))
        await ws.send(b"\x00\x01")
        received.append(await asyncio.wait_for(ws.recv(), ANSWER_TIMEOUT))

    async def log() -> list[tuple[Any, ...]]:
        return await orm(
            lambda: list(
                OcppMessage.objects.filter(charge_point=charge_point)
                .order_by("id")
                .values_list("direction", "message_type", "message_id", "action", "frame")
            )
        )

    # A CALLERROR's log rows are written just after the answer is sent: poll for the last.
    async def complete_log() -> list[tuple[Any, ...]]:
        rows = await log()
        return rows if len(rows) >= 2 * len(received) else []

    logged = await eventually(complete_log) or await log()
    assert [entry[4] for entry in logged] == [
        frame for pair in zip([*sent, "<binary frame>"], received, strict=True) for frame in pair
    ]
    assert [entry[:4] for entry in logged] == [
        ("in", 2, "log-1", "BootNotification"),
        ("out", 3, "log-1", "BootNotification"),
        ("in", 2, "log-2", "Heartbeat"),
        ("out", 3, "log-2", "Heartbeat"),
        ("in", 2, "log-3", "Heartbeat"),
        ("out", 4, "log-3", ""),
        ("in", 2, "log-4", "FlyToTheMoon"),
        ("out", 4, "log-4", ""),
        ("in", None, "", ""),
        ("out", 4, "-1", ""),
        ("in", None, "", ""),
        ("out", 4, "-1", ""),
    ]
