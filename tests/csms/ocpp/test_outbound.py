"""Central-System CALLs in process (no server): one outstanding at a time, in the order queued,
and the charge point's own CALLs answered meanwhile (OCPP-J §4.1.1, STYLE §5).

The consumer is driven through the project's own routing and backend
(tests.csms.ocpp.communicator); commands are queued as rows, the way the API queues them.
"""

import json
from typing import Any

import pytest

from chargepoints.commands.dispatch import wake_charge_point
from chargepoints.models import ChargePoint, Command, CommandStatus
from chargepoints.services.charge_points import charge_point_create
from csms.ocpp.outbound import outbound_counts
from csms.tenancy.models import Tenant
from tests.async_orm import orm
from tests.csms.ocpp.communicator import OcppCommunicator
from tests.factories import CommandFactory
from tests.waiting import eventually

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("outbox_poller_per_test"),
]

TIMEOUT = 5.0


@pytest.fixture
def station(tenant: Tenant) -> ChargePoint:
    return charge_point_create(tenant=tenant, identity="CP-1")


def queue(station: ChargePoint, action: str, payload: dict[str, Any]) -> Command:
    return CommandFactory(charge_point=station, action=action, payload=payload)


def reset_then_clear(station: ChargePoint) -> tuple[Command, Command]:
    """A soft Reset queued, and a ClearCache behind it."""
    return queue(station, "Reset", {"type": "Soft"}), queue(station, "ClearCache", {})


async def connected() -> OcppCommunicator:
    ws = OcppCommunicator("/ocpp/acme/CP-1", subprotocols=["ocpp1.6"])
    assert await ws.connect(TIMEOUT) == (True, "ocpp1.6")
    return ws


async def next_frame(ws: OcppCommunicator) -> list[Any]:
    return json.loads(await ws.receive_from(TIMEOUT))


async def outcomes(*commands: Command) -> list[tuple[str, str, Any]]:
    def read() -> list[tuple[str, str, Any]]:
        rows = Command.objects.in_bulk([command.pk for command in commands])
        return [(rows[c.pk].status, rows[c.pk].error_code, rows[c.pk].response) for c in commands]

    return await orm(read)


async def test_second_call_waits_for_the_first_answer_while_the_charge_points_calls_are_served(
    station: ChargePoint,
) -> None:
    reset, clear = await orm(reset_then_clear, station)
    ws = await connected()

    first = await next_frame(ws)
    assert first[0::2] == [2, "Reset"] and first[3] == {"type": "Soft"}
    assert await ws.receive_nothing(timeout=0.3)  # no second CALL while the first is open

    await ws.send_to(text_data=json.dumps([2, "hb-1", "Heartbeat", {}]))
    heartbeat = await next_frame(ws)  # the answer, not the queued ClearCache
    assert heartbeat[:2] == [3, "hb-1"] and "currentTime" in heartbeat[2]
    assert await ws.receive_nothing(timeout=0.3)

    await ws.send_to(text_data=json.dumps([3, first[1], {"status": "Accepted"}]))
    second = await next_frame(ws)
    assert second[0::2] == [2, "ClearCache"] and second[3] == {}
    await ws.send_to(text_data=json.dumps([3, second[1], {"status": "Rejected"}]))

    async def both_completed() -> bool:
        return [status for status, _, _ in await outcomes(reset, clear)] == ["completed"] * 2

    assert await eventually(both_completed)
    assert await outcomes(reset, clear) == [
        ("completed", "", {"status": "Accepted"}),
        ("completed", "", {"status": "Rejected"}),
    ]
    await ws.disconnect()


async def test_an_answer_to_another_message_id_does_not_release_the_next_call(
    station: ChargePoint,
) -> None:
    await orm(queue, station, "Reset", {"type": "Soft"})
    await orm(queue, station, "ClearCache", {})
    ws = await connected()
    first = await next_frame(ws)

    await ws.send_to(text_data=json.dumps([3, "another-call", {"status": "Accepted"}]))

    assert await ws.receive_nothing(timeout=0.3)  # unknown answers are not answered either
    await ws.send_to(text_data=json.dumps([3, first[1], {"status": "Accepted"}]))
    assert (await next_frame(ws))[2] == "ClearCache"
    await ws.disconnect()


async def test_a_callerror_ends_the_call_failed_and_the_next_one_goes(
    station: ChargePoint,
) -> None:
    reset = await orm(queue, station, "Reset", {"type": "Soft"})
    await orm(queue, station, "ClearCache", {})
    ws = await connected()
    first = await next_frame(ws)

    await ws.send_to(text_data=json.dumps([4, first[1], "NotSupported", "no resets", {}]))

    assert (await next_frame(ws))[2] == "ClearCache"
    assert await outcomes(reset) == [(CommandStatus.FAILED, "NotSupported", None)]
    await ws.disconnect()


async def test_closing_with_a_call_outstanding_fails_it_at_once_and_leaves_the_rest_queued(
    station: ChargePoint,
) -> None:
    reset, clear = await orm(reset_then_clear, station)
    ws = await connected()
    await next_frame(ws)

    await ws.disconnect()

    assert await outcomes(reset, clear) == [
        (CommandStatus.FAILED, "ConnectionClosed", None),
        (CommandStatus.QUEUED, "", None),
    ]


async def test_an_idle_connection_holds_no_outbox_task_one_runs_while_there_is_work(
    station: ChargePoint,
) -> None:
    """A fleet's idle sockets cost no waiting task each (issue 17): a wake-up starts one, and
    it ends once the outbox is empty."""
    before = outbound_counts()["outbox_tasks"]
    ws = await connected()
    await ws.send_to(text_data=json.dumps([2, "hb-1", "Heartbeat", {}]))
    assert (await next_frame(ws))[:2] == [3, "hb-1"]
    assert outbound_counts()["outbox_tasks"] == before

    reset = await orm(queue, station, "Reset", {"type": "Soft"})
    await orm(wake_charge_point, charge_point_id=station.pk)  # as the API's dispatch does
    call = await next_frame(ws)
    assert call[2] == "Reset"
    assert outbound_counts()["outbox_tasks"] == before + 1  # waiting for the answer

    await ws.send_to(text_data=json.dumps([3, call[1], {"status": "Accepted"}]))

    async def idle_again() -> bool:
        return outbound_counts()["outbox_tasks"] == before

    assert await eventually(idle_again)
    assert await outcomes(reset) == [("completed", "", {"status": "Accepted"})]
    await ws.disconnect()
