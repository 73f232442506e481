"""A command sent through one daphne process reaches a charge point connected to another.

SPEC §1: any daphne process must be able to deliver a command to a charge point connected to
any other. On PostgreSQL + channels-redis the wake-ups travel through Redis; on SQLite + the
in-memory layer they cannot, and the outbox poller of the process holding the socket finds
the row instead (slower, still within the wait).
"""

import time
from collections.abc import Callable, Iterator

import pytest
from ocpp.exceptions import NotSupportedError

from chargepoints.models import CommandStatus
from csms.tenancy.models import Tenant
from tests.e2e.command_target import command_in, online
from tests.http_clients import WAIT, HttpApi
from tests.servers import ServerProcess, daphne_running, no_crash_logged

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def second_server(django_db_setup: None) -> Iterator[ServerProcess]:
    """Another daphne on the same test database (and, when configured, the same Redis)."""
    with daphne_running() as server:
        yield server


@pytest.fixture
def second_api(
    second_server: ServerProcess, api_for: Callable[..., HttpApi], tenant: Tenant
) -> HttpApi:
    return api_for(tenant, server=second_server.ws_url)


@pytest.fixture
def first_api(http_api: HttpApi) -> HttpApi:
    """The API of the session's daphne, the one the charge point is connected to (``url``)."""
    return http_api


async def test_command_posted_to_another_process_completes_within_the_wait(
    url: str, first_api: HttpApi, second_api: HttpApi, second_server: ServerProcess
) -> None:
    with no_crash_logged(second_server):
        async with online(url, "CP-1") as cp:
            cp.answers["Reset"] = NotSupportedError("Not while charging")
            replies = []
            for action, payload in [
                ("GetConfiguration", {"key": ["HeartbeatInterval"]}),
                ("Reset", {"type": "Soft"}),
            ]:
                started = time.monotonic()
                reply = await second_api.command("CP-1", action, payload, wait=WAIT)
                assert time.monotonic() - started < WAIT
                assert reply.status == 201, reply.body
                replies.append(reply)

            assert [call[2:] for call in cp.calls] == [
                ["GetConfiguration", {"key": ["HeartbeatInterval"]}],
                ["Reset", {"type": "Soft"}],
            ]
    completed, failed = (reply.body for reply in replies)
    assert completed["status"] == "completed"
    assert completed["response"] == {
        "configurationKey": [{"key": "HeartbeatInterval", "readonly": False, "value": "300"}]
    }
    assert failed["status"] == "failed"
    assert failed["error"]["code"] == "NotSupported"
    assert failed["error"]["description"] == "Not while charging"
    # Both processes read the same row.
    assert (await first_api.get(f"/commands/{completed['id']}/")).body == completed


async def test_command_queued_through_another_process_is_delivered_when_the_charge_point_connects(
    url: str, second_api: HttpApi, second_server: ServerProcess
) -> None:
    with no_crash_logged(second_server):
        queued = await second_api.command("CP-1", "ClearCache", {}, wait=None)
        assert (queued.status, queued.body["status"]) == (202, "queued")

        async with online(url, "CP-1") as cp:
            command = await command_in(queued.body["id"], CommandStatus.COMPLETED)
            assert [call[2] for call in cp.calls] == ["ClearCache"]
        assert command.response == {"status": "Rejected"}
        shown = await second_api.get(f"/commands/{queued.body['id']}/")
        assert shown.body["status"] == "completed"
