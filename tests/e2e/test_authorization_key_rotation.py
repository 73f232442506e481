"""AuthorizationKey rotation never locks a charger out, and its secret never rests in clear
(issue 19 §1, "Must show"): the new password is kept pending beside the old one until the
charger authenticates with it — whether it answered Accepted, RebootRequired, or its answer was
lost — and neither the database nor the API nor the server's log ever holds it in clear."""

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from ocpp.v16 import call

from chargepoints.models import (
    AuthorizationKeyRotation,
    ChargePoint,
    Command,
    CommandStatus,
    RotationStatus,
    SecurityEvent,
)
from chargepoints.security.security_log import CentralSystemEvent
from tests.async_orm import orm
from tests.e2e.command_target import command_in, online
from tests.http_clients import HttpApi
from tests.ocpp_clients import basic_auth, refused_status
from tests.servers import ServerProcess
from tests.waiting import until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

OLD_PASSWORD = "initial-password-0001"
NEW_PASSWORD = "rotated-secret-value-0042"
ROTATE = {"key": "AuthorizationKey", "value": NEW_PASSWORD}


@pytest.fixture
def url(cp_url: Callable[[str], str], make_charge_point: Callable[..., ChargePoint]) -> str:
    make_charge_point("CP-R", password=OLD_PASSWORD)
    return cp_url("CP-R")


async def heartbeat_with(url: str, password: str) -> bool:
    async with online(url, "CP-R", headers=basic_auth("CP-R", password)) as cp:
        return bool((await cp.ask(call.Heartbeat())).current_time)


async def rotation_status() -> str:
    rotation = await orm(AuthorizationKeyRotation.objects.get)
    return rotation.status


async def rotated_events() -> int:
    return await orm(SecurityEvent.objects.filter(type=CentralSystemEvent.PASSWORD_ROTATED).count)


@pytest.mark.parametrize("answer", ["Accepted", "RebootRequired"])
async def test_old_password_works_until_the_charger_uses_the_new_one(
    url: str, http_api: HttpApi, answer: str
) -> None:
    async with online(url, "CP-R", headers=basic_auth("CP-R", OLD_PASSWORD)) as cp:
        cp.answers["ChangeConfiguration"] = {"status": answer}
        reply = await http_api.command("CP-R", "ChangeConfiguration", ROTATE)
    assert reply.body["status"] == "completed"
    assert cp.calls[0][3] == ROTATE  # the charger gets it in clear, on the wire only
    assert reply.body["payload"] == {"key": "AuthorizationKey", "value": "********"}

    # Answered, but the charger has not reconnected with the new key yet: both work.
    assert await heartbeat_with(url, OLD_PASSWORD)
    assert await rotation_status() == RotationStatus.PENDING
    assert await heartbeat_with(url, NEW_PASSWORD)
    # The first handshake with the new key adopted it: the old one is gone.
    assert await rotation_status() == RotationStatus.ADOPTED
    assert await rotated_events() == 1
    assert await refused_status(url, headers=basic_auth("CP-R", OLD_PASSWORD)) == 401
    assert await heartbeat_with(url, NEW_PASSWORD)


async def test_a_lost_answer_keeps_both_passwords_until_the_new_one_is_used(
    url: str, http_api: HttpApi
) -> None:
    async with online(url, "CP-R", headers=basic_auth("CP-R", OLD_PASSWORD)) as cp:
        cp.release.clear()  # it takes the key, then loses its socket before answering
        reply = await http_api.command("CP-R", "ChangeConfiguration", ROTATE, wait=None)
        await cp.calls_received(1)
    command = await command_in(reply.body["id"], CommandStatus.FAILED, CommandStatus.TIMEOUT)
    assert command.error_code == "ConnectionClosed"
    # A failed command keeps no secret: masked in its row and answer, its sealed copy dropped.
    failed = await http_api.get(f"/commands/{command.pk}/")
    assert failed.body["payload"] == {"key": "AuthorizationKey", "value": "********"}
    assert (command.payload["value"], command.sealed_payload) == ("********", "")

    assert await heartbeat_with(url, OLD_PASSWORD)  # it may not have taken it after all
    assert await heartbeat_with(url, NEW_PASSWORD)  # or it did
    assert await rotation_status() == RotationStatus.ADOPTED
    assert await refused_status(url, headers=basic_auth("CP-R", OLD_PASSWORD)) == 401


async def test_a_refused_or_never_sent_key_is_abandoned(url: str, http_api: HttpApi) -> None:
    async with online(url, "CP-R", headers=basic_auth("CP-R", OLD_PASSWORD)) as cp:
        cp.answers["ChangeConfiguration"] = {"status": "Rejected"}
        await http_api.command("CP-R", "ChangeConfiguration", ROTATE)

    assert await rotation_status() == RotationStatus.ABANDONED
    assert await refused_status(url, headers=basic_auth("CP-R", NEW_PASSWORD)) == 401
    assert await heartbeat_with(url, OLD_PASSWORD)


async def test_the_secret_is_masked_in_every_stored_row_api_answer_and_log(
    url: str, http_api: HttpApi, daphne_server: ServerProcess
) -> None:
    log_offset = daphne_server.log_size()
    # Queued while the charger is offline: the API and the row show it masked already.
    queued = await http_api.command("CP-R", "ChangeConfiguration", ROTATE, wait=None)
    assert queued.status == 202
    assert queued.body["payload"]["value"] == "********"
    listed = await http_api.get("/charge-points/CP-R/commands/")
    assert NEW_PASSWORD not in json.dumps(listed.body)

    async with online(url, "CP-R", headers=basic_auth("CP-R", OLD_PASSWORD)) as cp:
        cp.answers["ChangeConfiguration"] = {"status": "Accepted"}
        await command_in(queued.body["id"], CommandStatus.COMPLETED)
        # Firmware that reports the write-only key back (the whitepaper says it must not).
        cp.answers["GetConfiguration"] = {
            "configurationKey": [
                {"key": "AuthorizationKey", "readonly": False, "value": NEW_PASSWORD}
            ]
        }
        got = await http_api.command("CP-R", "GetConfiguration", {"key": ["AuthorizationKey"]})
    assert got.body["response"]["configurationKey"][0]["value"] == "********"
    assert await heartbeat_with(url, NEW_PASSWORD)  # adopted
    answers = [
        (await http_api.get(f"/commands/{command_id}/")).body
        for command_id in (queued.body["id"], got.body["id"])
    ]
    mirror = await http_api.get("/charge-points/CP-R/configuration/")
    events = await http_api.get("/security-events/")

    for body in (*answers, mirror.body, events.body):
        assert NEW_PASSWORD not in json.dumps(body)
    await until(
        lambda: orm(Command.objects.filter(sealed_payload="").count),
        what=lambda: "a finished command kept its sealed payload",
    )
    assert NEW_PASSWORD not in await orm(database_text)
    assert NEW_PASSWORD not in daphne_server.log_since(log_offset)


def database_text() -> str:
    """Every text of every row of every table: what a dump of the database would show."""
    found: list[str] = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            found.extend(_texts(cursor.fetchall()))
    assert any("AuthorizationKey" in text for text in found), "the dump saw no command rows"
    return "\n".join(found)


def _texts(rows: list[tuple[Any, ...]]) -> list[str]:
    return [_text(value) for row in rows for value in row]


def _text(value: Any) -> str:
    if isinstance(value, bytes | memoryview):
        return bytes(value).decode("latin-1")
    return value if isinstance(value, str) else json.dumps(value, default=str)
