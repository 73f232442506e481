"""Commands end to end: REST API → outbox → a real charge point client → the stored answer.

The charge point is the ``ocpp`` package's ``ChargePoint`` with one ``@on`` handler per
Central-System action; it records every frame on the wire so the tests can assert what the
server sent and that what it stored is exactly what the charge point answered. The API is
called over HTTP on the same daphne, with a tenant's Bearer token.
"""

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone
from ocpp.exceptions import NotSupportedError
from ocpp.v16 import call
from ocpp.v16.enums import RegistrationStatus

from chargepoints.models import ChargePoint, Command, CommandStatus, ConfigurationKey
from chargepoints.models import RegistrationStatus as CpRegistration
from chargepoints.services.charge_points import charge_point_registration_set
from chargepoints.tasks import expire_commands, send_command
from csms.celery import app as celery_app
from csms.tenancy.models import Tenant
from csms.tenancy.services import api_token_issue
from smartcharging.charger_limits import LIMIT_KEYS
from tests.async_orm import orm
from tests.e2e.command_target import (
    ANSWERS,
    CORE_COMMANDS,
    SECURITY_COMMANDS,
    CommandTarget,
    command_count,
    command_in,
    command_row,
    online,
)
from tests.http_clients import HttpApi, Reply, http_url
from tests.ocpp_clients import basic_auth, ocpp_url, open_socket, refused_status
from tests.ocpp_clients import is_offline as _is_offline
from tests.servers import ServerProcess, celery_worker_running, daphne_running, no_crash_logged
from tests.waiting import ANSWER_TIMEOUT, eventually

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "initial-password-0001"  # 16-40 characters (security whitepaper)
NEW_PASSWORD = "brand-new-secret-0002"


@pytest.fixture
def pending_charge_point(make_charge_point: Callable[..., ChargePoint]) -> ChargePoint:
    return make_charge_point("CP-P", registration_status=CpRegistration.PENDING)


@pytest.fixture
def secured_charge_point(make_charge_point: Callable[..., ChargePoint]) -> ChargePoint:
    return make_charge_point("CP-S", password=PASSWORD)


# --- Every action, end to end -------------------------------------------------------------------


def limits_mirrored(identity: str) -> None:
    charge_point = ChargePoint.objects.get(identity=identity)
    for key in LIMIT_KEYS:
        ConfigurationKey.objects.create(charge_point=charge_point, key=key, unknown=True)


@pytest.mark.parametrize("action", [*sorted(CORE_COMMANDS), *sorted(SECURITY_COMMANDS)])
async def test_every_action_reaches_the_charge_point_unchanged_and_its_answer_is_stored(
    url: str, http_api: HttpApi, action: str
) -> None:
    # The 19 core actions of OCPP 1.6 §5, then the security extension's (SPEC §4).
    payload, answer = (CORE_COMMANDS | SECURITY_COMMANDS)[action]
    # Its smart-charging limits are known (reported unknown): a charging profile is not
    # preceded by the GetConfiguration that would ask for them.
    await orm(limits_mirrored, "CP-1")
    async with online(url, "CP-1") as cp:
        reply = await http_api.command("CP-1", action, payload)

        assert reply.status == 201, reply.body
        assert [call[2:] for call in cp.calls] == [[action, payload]]
        message_id = cp.calls[0][1]
        assert cp.answered[message_id] == [3, message_id, answer]
    command = await command_row(reply.body["id"])
    assert command.status == CommandStatus.COMPLETED
    assert command.response == answer
    assert command.message_id == message_id
    assert reply.body["status"] == "completed"
    assert reply.body["response"] == answer
    assert reply.body["payload"] == payload
    assert reply.body["error"] is None


async def test_every_command_is_listed_for_its_charge_point_and_readable_by_id(
    url: str, http_api: HttpApi
) -> None:
    async with online(url, "CP-1"):
        first = await http_api.command("CP-1", "Reset", {"type": "Hard"})
        second = await http_api.command("CP-1", "ClearCache", {})

    listed = await http_api.get("/charge-points/CP-1/commands/")
    one = await http_api.get(f"/commands/{first.body['id']}/")
    everything = await http_api.get("/commands/?status=completed")

    assert listed.status == 200
    assert listed.body["count"] == 2
    assert [c["id"] for c in listed.body["results"]] == [second.body["id"], first.body["id"]]
    assert one.status == 200
    assert one.body == first.body
    assert one.body["charge_point"] == "CP-1"
    assert one.body["requested_by"].startswith("token:")
    assert everything.body["count"] == 2


async def test_waiting_request_returns_as_soon_as_the_charge_point_answers(
    url: str, http_api: HttpApi
) -> None:
    # The waiter is woken through the channel layer; its once-a-second re-read of the row is
    # only the fallback for a lost wake-up, so a round trip must not take that long.
    durations = []
    async with online(url, "CP-1"):
        for _ in range(5):
            started = time.monotonic()
            reply = await http_api.command("CP-1", "ClearCache", {})
            durations.append(time.monotonic() - started)
            assert reply.body["status"] == "completed"

    assert sorted(durations)[2] < 0.5, durations


# --- Bad requests -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "payload"),
    [
        pytest.param("Frobnicate", {}, id="unknown-action"),
        pytest.param(
            "BootNotification",
            {"chargePointVendor": "X", "chargePointModel": "Y"},
            id="charge-point-action",
        ),
        pytest.param("Reset", {"type": "Sideways"}, id="enum-violation"),
        pytest.param("Reset", {}, id="missing-required-field"),
        pytest.param("Reset", {"type": "Soft", "extra": 1}, id="additional-property"),
        pytest.param("UnlockConnector", {"connectorId": "one"}, id="wrong-type"),
        pytest.param("Reset", ["Soft"], id="payload-not-an-object"),
        pytest.param(
            "ChangeConfiguration",
            {"key": "AuthorizationKey", "value": "too-short"},
            id="authorization-key-too-short",
        ),
        pytest.param(
            "ChangeConfiguration",
            {"key": "AuthorizationKey", "value": "x" * 41},
            id="authorization-key-too-long",
        ),
    ],
)
async def test_invalid_command_is_refused_with_400_and_neither_stored_nor_sent(
    url: str, http_api: HttpApi, action: str, payload: Any
) -> None:
    async with online(url, "CP-1") as cp:
        reply = await http_api.command("CP-1", action, payload)

        assert reply.status == 400
        assert reply.content_type.startswith("application/json")
        assert reply.body, "a 400 says what is wrong"
        assert await command_count() == 0
        # FIFO: had anything been queued, it would reach the charge point before this one.
        follow_up = await http_api.command("CP-1", "ClearCache", {})
        assert follow_up.status == 201
        assert [call[2] for call in cp.calls] == ["ClearCache"]
    assert await command_count() == 1


async def test_wait_beyond_sixty_seconds_is_refused_and_nothing_is_queued(
    charge_point: ChargePoint, http_api: HttpApi
) -> None:
    reply = await http_api.command("CP-1", "ClearCache", {}, wait=61)

    assert reply.status == 400
    assert [error["attr"] for error in reply.body["errors"]] == ["wait"]
    assert await command_count() == 0


# --- Errors, time-outs, dropped sockets ---------------------------------------------------------


async def test_callerror_answer_fails_the_command_with_its_code_and_description(
    url: str, http_api: HttpApi
) -> None:
    async with online(url, "CP-1") as cp:
        cp.answers["Reset"] = NotSupportedError(
            "Soft reset is disabled", details={"mode": "maintenance"}
        )
        reply = await http_api.command("CP-1", "Reset", {"type": "Soft"})

    assert reply.status == 201
    assert reply.body["status"] == "failed"
    assert reply.body["response"] is None
    assert reply.body["error"] == {
        "code": "NotSupported",
        "description": "Soft reset is disabled",
        "details": {"mode": "maintenance"},
    }
    command = await command_row(reply.body["id"])
    assert (command.status, command.error_code) == (CommandStatus.FAILED, "NotSupported")


async def test_answer_that_breaks_the_response_schema_fails_the_command(
    url: str, http_api: HttpApi
) -> None:
    async with open_socket(url) as ws:
        posting = asyncio.create_task(http_api.command("CP-1", "Reset", {"type": "Soft"}))
        request = json.loads(await asyncio.wait_for(ws.recv(), ANSWER_TIMEOUT))
        await ws.send(json.dumps([3, request[1], {"status": "Maybe"}]))
        reply = await posting

    assert reply.body["status"] == "failed"
    assert reply.body["response"] == {"status": "Maybe"}
    assert "Reset" in reply.body["error"]["description"]
    await eventually(lambda: _is_offline("CP-1"))


async def test_command_for_an_offline_charge_point_is_queued_then_delivered_when_it_connects(
    url: str, http_api: HttpApi
) -> None:
    reply = await http_api.command("CP-1", "GetLocalListVersion", {}, wait=0.2)

    assert reply.status == 202
    assert reply.body["status"] == "queued"
    # It reconnects without rebooting (no BootNotification): a known, accepted charge point
    # is served at once (SPEC §4).
    async with online(url, "CP-1") as cp:
        command = await command_in(reply.body["id"], CommandStatus.COMPLETED)
        assert [call[2:] for call in cp.calls] == [["GetLocalListVersion", {}]]
    assert command.response == {"listVersion": 17}


async def test_pending_charge_point_gets_only_allowed_commands_and_only_after_its_boot(
    cp_url: Callable[[str], str], pending_charge_point: ChargePoint, http_api: HttpApi
) -> None:
    reset = await http_api.command("CP-P", "Reset", {"type": "Soft"}, wait=None)
    get_configuration = await http_api.command("CP-P", "GetConfiguration", {}, wait=None)
    assert (reset.status, get_configuration.status) == (202, 202)

    async with online(cp_url("CP-P"), "CP-P") as cp:
        await asyncio.sleep(0.3)  # a wrongly started outbox would have sent by now
        assert cp.calls == []
        boot = await cp.ask(call.BootNotification(charge_point_model="M", charge_point_vendor="V"))
        assert boot.status == RegistrationStatus.pending

        # FIFO would send the Reset first: it is skipped while Pending (OCPP 1.6 §4.2.1).
        done = await command_in(get_configuration.body["id"], CommandStatus.COMPLETED)
        assert [call[2] for call in cp.calls] == ["GetConfiguration"]
        assert (await command_row(reset.body["id"])).status == CommandStatus.QUEUED

        await orm(
            charge_point_registration_set,
            charge_point_ids=[pending_charge_point.pk],
            registration_status=CpRegistration.ACCEPTED,
        )
        boot = await cp.ask(call.BootNotification(charge_point_model="M", charge_point_vendor="V"))
        assert boot.status == RegistrationStatus.accepted
        await command_in(reset.body["id"], CommandStatus.COMPLETED)
        assert [call[2] for call in cp.calls] == ["GetConfiguration", "Reset"]
    assert done.response == ANSWERS["GetConfiguration"]


async def stale_and_fresh(http_api: HttpApi, *, reset_type: str) -> tuple[Reply, Reply]:
    """For CP-1: a Reset queued and then past its expiry, and a ClearCache queued behind it."""
    stale = await http_api.command("CP-1", "Reset", {"type": reset_type}, wait=None)
    fresh = await http_api.command("CP-1", "ClearCache", {}, wait=None)
    await orm(
        Command.objects.filter(pk=stale.body["id"]).update,
        expires_at=timezone.now() - timedelta(seconds=1),
    )
    return stale, fresh


async def test_expire_task_ends_queued_commands_past_their_expiry(
    charge_point: ChargePoint, http_api: HttpApi
) -> None:
    stale, fresh = await stale_and_fresh(http_api, reset_type="Soft")

    expired = await orm(lambda: expire_commands.delay().get())

    assert expired == 1
    shown = await http_api.get(f"/commands/{stale.body['id']}/")
    assert shown.body["status"] == "expired"
    assert shown.body["error"]["description"]
    assert shown.body["completed_at"] is not None
    assert (await command_row(fresh.body["id"])).status == CommandStatus.QUEUED


async def test_command_past_its_expiry_is_never_sent_when_the_charge_point_connects(
    url: str, http_api: HttpApi
) -> None:
    stale, fresh = await stale_and_fresh(http_api, reset_type="Hard")

    async with online(url, "CP-1") as cp:
        await command_in(fresh.body["id"], CommandStatus.COMPLETED)
        assert [call[2] for call in cp.calls] == ["ClearCache"]
    stale_row = await command_row(stale.body["id"])
    assert stale_row.status == CommandStatus.EXPIRED
    assert stale_row.sent_at is None


async def test_dropped_socket_fails_the_outstanding_call_and_keeps_the_queue_behind_it(
    url: str, http_api: HttpApi
) -> None:
    async with online(url, "CP-1") as cp:
        cp.release.clear()  # never answers
        first = await http_api.command("CP-1", "Reset", {"type": "Soft"}, wait=None)
        await cp.calls_received(1)
        second = await http_api.command("CP-1", "ClearCache", {}, wait=None)
        third = await http_api.command("CP-1", "GetLocalListVersion", {}, wait=None)
        await cp.ws.close()

    failed = await command_in(first.body["id"], CommandStatus.FAILED)
    assert failed.error_code == "ConnectionClosed"
    assert "closed before the charge point answered" in failed.error_description
    assert [(await command_row(c.body["id"])).status for c in (second, third)] == [
        CommandStatus.QUEUED,
        CommandStatus.QUEUED,
    ]

    async with online(url, "CP-1") as cp:
        await command_in(third.body["id"], CommandStatus.COMPLETED)
        assert [call[2] for call in cp.calls] == ["ClearCache", "GetLocalListVersion"]
    assert (await command_row(second.body["id"])).status == CommandStatus.COMPLETED
    assert (await command_row(first.body["id"])).status == CommandStatus.FAILED


async def test_socket_closed_while_a_command_is_being_taken_fails_only_that_one(
    url: str, http_api: HttpApi
) -> None:
    # The charge point hangs up right after its handshake, while the server takes its first
    # queued command from the outbox or sends it (a window of milliseconds: so, twenty times).
    # A command left "sent" would stay so for ever, and the ones queued behind must survive.
    ids: list[int] = []
    for attempt in range(1, 21):
        for action in ("ClearCache", "GetLocalListVersion"):
            ids.append((await http_api.command("CP-1", action, {}, wait=None)).body["id"])
        async with open_socket(url):
            pass
        await eventually(lambda: _is_offline("CP-1"))

        statuses = await orm(
            lambda: list(Command.objects.filter(pk__in=ids).values_list("status", flat=True))
        )
        assert CommandStatus.SENT not in statuses
        assert statuses.count(CommandStatus.FAILED) <= attempt, statuses

    async with online(url, "CP-1"):
        await eventually(lambda: _none_queued(ids))
    commands = [await command_row(pk) for pk in ids]
    assert all(
        command.status == CommandStatus.COMPLETED
        or (command.status, command.error_code) == (CommandStatus.FAILED, "ConnectionClosed")
        for command in commands
    ), [(command.status, command.error_code) for command in commands]


async def _none_queued(ids: list[int]) -> bool:
    return not await orm(Command.objects.filter(pk__in=ids, status=CommandStatus.QUEUED).exists)


async def test_one_call_outstanding_at_a_time_in_fifo_order_while_the_charge_point_calls_freely(
    url: str, http_api: HttpApi
) -> None:
    async with online(url, "CP-1") as cp:
        cp.release.clear()
        cp.answer_delay = 0.05
        replies = await asyncio.gather(
            *(
                http_api.command(
                    "CP-1", "DataTransfer", {"vendorId": "test", "messageId": f"m{n}"}, wait=None
                )
                for n in range(5)
            )
        )
        assert {reply.status for reply in replies} == {202}
        await cp.calls_received(1)

        # Our own CALL is answered while the Central System's call is outstanding: one
        # outstanding CALL per direction, not one for both (OCPP-J §4.1.1).
        heartbeat = await asyncio.wait_for(cp.ask(call.Heartbeat()), 2)
        assert heartbeat.current_time
        assert len(cp.outstanding) == 1
        assert len(cp.calls) == 1, "a second CALL while the first is unanswered"

        cp.release.set()
        ids = sorted(reply.body["id"] for reply in replies)
        await command_in(ids[-1], CommandStatus.COMPLETED)
        commands = [await command_row(pk) for pk in ids]

    assert cp.most_outstanding == 1
    arrival = [frame[3]["messageId"] for frame in cp.calls]
    assert arrival == [command.payload["messageId"] for command in commands]
    assert {command.status for command in commands} == {CommandStatus.COMPLETED}


# --- Configuration mirror and AuthorizationKey --------------------------------------------------


async def test_get_configuration_fills_the_configuration_mirror(
    url: str, http_api: HttpApi
) -> None:
    async with online(url, "CP-1") as cp:
        cp.answers["GetConfiguration"] = {
            "configurationKey": [
                {"key": "HeartbeatInterval", "readonly": False, "value": "300"},
                {"key": "NumberOfConnectors", "readonly": True, "value": "2"},
                {"key": "AuthorizationKey", "readonly": False, "value": "cleartext-secret-0003"},
            ],
            "unknownKey": ["NoSuchKey"],
        }
        reply = await http_api.command("CP-1", "GetConfiguration", {})
    assert reply.body["status"] == "completed"

    mirror = await http_api.get("/charge-points/CP-1/configuration/")

    assert mirror.status == 200
    rows = {row["key"]: row for row in mirror.body}
    assert sorted(rows) == [
        "AuthorizationKey",
        "HeartbeatInterval",
        "NoSuchKey",
        "NumberOfConnectors",
    ]
    assert (rows["HeartbeatInterval"]["value"], rows["HeartbeatInterval"]["readonly"]) == (
        "300",
        False,
    )
    assert (rows["NumberOfConnectors"]["value"], rows["NumberOfConnectors"]["readonly"]) == (
        "2",
        True,
    )
    assert rows["AuthorizationKey"]["value"] == "********"  # never shown in clear
    assert rows["NoSuchKey"]["unknown"] is True
    assert rows["NoSuchKey"]["value"] is None
    assert all(row["unknown"] is False for key, row in rows.items() if key != "NoSuchKey")
    assert all(row["last_read_at"] for row in rows.values())


async def authorization_key_sent(
    url: str, http_api: HttpApi, *, answer: str
) -> tuple[Reply, CommandTarget]:
    """CP-S, online with PASSWORD, is sent AuthorizationKey = NEW_PASSWORD and answers
    ``answer``; the API's reply and the charge point, offline again."""
    async with online(url, "CP-S", headers=basic_auth("CP-S", PASSWORD)) as cp:
        cp.answers["ChangeConfiguration"] = {"status": answer}
        reply = await http_api.command(
            "CP-S", "ChangeConfiguration", {"key": "AuthorizationKey", "value": NEW_PASSWORD}
        )
    return reply, cp


async def test_accepted_authorization_key_becomes_the_basic_auth_password(
    cp_url: Callable[[str], str], secured_charge_point: ChargePoint, http_api: HttpApi
) -> None:
    url = cp_url("CP-S")
    reply, cp = await authorization_key_sent(url, http_api, answer="Accepted")
    assert reply.body["status"] == "completed"
    assert cp.calls[0][3] == {"key": "AuthorizationKey", "value": NEW_PASSWORD}

    assert await refused_status(url) == 401
    # Issue 19 §1: the new key is adopted by the charger's first handshake with it; until
    # then the old one still works (tests/e2e/test_authorization_key_rotation.py), after it
    # never again.
    async with online(url, "CP-S", headers=basic_auth("CP-S", NEW_PASSWORD)) as cp:
        assert (await cp.ask(call.Heartbeat())).current_time
    assert await refused_status(url, headers=basic_auth("CP-S", PASSWORD)) == 401
    mirror = await http_api.get("/charge-points/CP-S/configuration/")
    assert mirror.body[0]["key"] == "AuthorizationKey"
    assert mirror.body[0]["value"] == "********"
    assert mirror.body[0]["last_change_status"] == "Accepted"


async def test_rejected_authorization_key_leaves_the_password_unchanged(
    cp_url: Callable[[str], str], secured_charge_point: ChargePoint, http_api: HttpApi
) -> None:
    url = cp_url("CP-S")
    reply, _ = await authorization_key_sent(url, http_api, answer="Rejected")
    assert reply.body["response"] == {"status": "Rejected"}

    assert await refused_status(url, headers=basic_auth("CP-S", NEW_PASSWORD)) == 401
    async with online(url, "CP-S", headers=basic_auth("CP-S", PASSWORD)) as cp:
        assert (await cp.ask(call.Heartbeat())).current_time


# --- Tenancy ------------------------------------------------------------------------------------


async def test_another_tenants_charge_point_and_commands_are_not_found(
    url: str, http_api: HttpApi, other_http_api: HttpApi
) -> None:
    async with online(url, "CP-1") as cp:
        mine = await http_api.command("CP-1", "ClearCache", {})

        assert (await other_http_api.command("CP-1", "Reset", {"type": "Hard"})).status == 404
        assert (await other_http_api.get(f"/commands/{mine.body['id']}/")).status == 404
        assert (await other_http_api.get("/charge-points/CP-1/commands/")).status == 404
        assert (await other_http_api.get("/charge-points/CP-1/configuration/")).status == 404
        assert (await other_http_api.get("/commands/")).body["count"] == 0
        assert await command_count() == 1
        assert [call[2] for call in cp.calls] == ["ClearCache"]


async def test_same_identity_under_another_tenant_gets_its_own_commands(
    url: str,
    http_api: HttpApi,
    other_http_api: HttpApi,
    make_charge_point: Callable[..., ChargePoint],
    other_tenant: Tenant,
) -> None:
    await orm(make_charge_point, "CP-1", tenant=other_tenant)
    async with online(url, "CP-1") as cp:
        theirs = await other_http_api.command("CP-1", "Reset", {"type": "Hard"}, wait=0.2)
        mine = await http_api.command("CP-1", "ClearCache", {})

        assert theirs.status == 202  # their CP-1 is offline
        assert mine.status == 201
        assert [call[2] for call in cp.calls] == ["ClearCache"]
    assert (await http_api.get(f"/commands/{theirs.body['id']}/")).status == 404


# --- Short time-outs: a daphne of our own -------------------------------------------------------


@pytest.fixture(scope="module")
def impatient_server(django_db_setup: None) -> Iterator[ServerProcess]:
    """A daphne that waits only one second for a charge point's answer."""
    with daphne_running(OCPP_CALL_TIMEOUT_SECONDS="1") as server:
        yield server


async def test_unanswered_call_times_out_is_never_resent_and_the_queue_moves_on(
    impatient_server: ServerProcess,
    charge_point: ChargePoint,
    tenant: Tenant,
    api_for: Callable[..., HttpApi],
) -> None:
    http_api = await orm(api_for, tenant, server=impatient_server.ws_url)
    url = ocpp_url(impatient_server.ws_url, tenant.slug, "CP-1")
    with no_crash_logged(impatient_server):
        async with online(url, "CP-1") as cp:
            cp.release.clear()
            started = time.monotonic()
            reply = await http_api.command("CP-1", "Reset", {"type": "Soft"}, wait=5)
            assert time.monotonic() - started < 4

            assert reply.status == 201
            assert reply.body["status"] == "timeout"
            assert reply.body["error"]["code"] == "Timeout"
            assert reply.body["response"] is None

            cp.release.set()  # the late answer is ignored
            next_reply = await http_api.command("CP-1", "ClearCache", {})
            assert next_reply.body["status"] == "completed"
            assert [call[2] for call in cp.calls] == ["Reset", "ClearCache"]
    command = await command_row(reply.body["id"])
    assert (command.status, command.response) == (CommandStatus.TIMEOUT, None)


async def test_call_orphaned_by_a_killed_server_process_ends_timeout_instead_of_staying_sent(
    charge_point: ChargePoint, tenant: Tenant
) -> None:
    token = await orm(lambda: api_token_issue(tenant=tenant).raw)
    with daphne_running() as doomed:
        http_api = HttpApi(http_url(doomed.ws_url), token)
        ws = await open_socket(ocpp_url(doomed.ws_url, tenant.slug, "CP-1"))
        reply = await http_api.command("CP-1", "Reset", {"type": "Hard"}, wait=None)
        request = json.loads(await asyncio.wait_for(ws.recv(), ANSWER_TIMEOUT))
        assert request[2] == "Reset"
        doomed.process.kill()  # by its pid, SIGKILL: no clean-up of any kind runs
        doomed.process.wait(timeout=5)
        ws.transport.abort()
    assert (await command_row(reply.body["id"])).status == CommandStatus.SENT

    # Later (past the call time-out): the housekeeping task ends it.
    await orm(
        Command.objects.filter(pk=reply.body["id"]).update,
        sent_at=timezone.now() - timedelta(seconds=settings.OCPP_CALL_TIMEOUT_SECONDS + 61),
    )
    assert await orm(lambda: expire_commands.delay().get()) == 1

    command = await command_row(reply.body["id"])
    assert (command.status, command.error_code) == (CommandStatus.TIMEOUT, "Timeout")
    assert command.completed_at is not None


# --- From a Celery job, on a real worker --------------------------------------------------------


async def test_command_queued_by_a_celery_job_on_a_real_worker_reaches_the_charge_point(
    url: str, charge_point: ChargePoint
) -> None:
    celery_app.conf.task_always_eager = False
    command = None
    try:
        with celery_worker_running(
            "--without-heartbeat", "--without-gossip", "--without-mingle"
        ) as worker:
            async with online(url, "CP-1") as cp:
                await asyncio.to_thread(
                    send_command.apply_async,
                    args=[charge_point.pk, "TriggerMessage", {"requestedMessage": "Heartbeat"}],
                    kwargs={"job": "nightly-check", "ttl_seconds": 120},
                )

                async def finished() -> Command | None:
                    return await orm(
                        Command.objects.filter(
                            requested_by_job="nightly-check", status=CommandStatus.COMPLETED
                        ).first
                    )

                command = await eventually(finished, within=30)
            await asyncio.to_thread(worker.stop, 15)  # by its pid; a warm shutdown
            output = worker.log_since(0)
    finally:
        celery_app.conf.task_always_eager = True

    assert command is not None, output[-3000:]
    assert [call[2] for call in cp.calls] == ["TriggerMessage"]
    assert command.response == {"status": "Accepted"}
    assert command.requested_by == "job:nightly-check"
