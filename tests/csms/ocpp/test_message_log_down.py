"""A message log that cannot be written costs its rows, never the connection or an answer
(issue 16 §5): in process, with the log's insert failing.

First the group commit (a call alone, a batch), then the consumer: a refused frame and a
handled call on the same socket, both answered, the socket still open.
"""

import json
from typing import Any

import pytest

from chargepoints import ocpp_backend
from chargepoints.models import ChargePoint, OcppMessage
from chargepoints.ocpp_backend import ChargePointBackend
from chargepoints.services.charge_points import charge_point_create
from csms.ocpp.execution.group_commit import calls_commit
from csms.ocpp.pipeline import handler_run
from csms.tenancy.models import Tenant
from tests.async_orm import orm
from tests.csms.ocpp.communicator import OcppCommunicator
from tests.csms.ocpp.test_group_commit import NOW, inbound, renaming, stations

TIMEOUT = 5.0


def log_down(rows: Any) -> int:
    raise RuntimeError("the message log's table is unavailable")


@pytest.fixture
def unwritable_log(monkeypatch: pytest.MonkeyPatch) -> None:
    # Both ways a log row is written: inside a call's transaction, and apart (batches, refusals).
    monkeypatch.setattr(ocpp_backend, "message_log_write", log_down)
    monkeypatch.setattr(ChargePointBackend, "message_log_write", staticmethod(log_down))
    monkeypatch.setattr(ChargePointBackend, "frames_log", staticmethod(lambda **_: log_down([])))


@pytest.mark.django_db
@pytest.mark.usefixtures("unwritable_log")
@pytest.mark.parametrize("calls", [1, 3], ids=["alone", "batch"])
def test_a_call_is_answered_and_its_work_kept_when_its_log_rows_cannot_be_written(
    tenant: Tenant, calls: int
) -> None:
    queued = stations(tenant, calls)
    batch = [inbound(s, f"m{n}", renaming(f"kept-{n}")) for n, s in enumerate(queued)]

    answers = calls_commit(batch, backend=ChargePointBackend(), run=handler_run)

    assert [json.loads(a) for a in answers] == [
        [3, f"m{n}", {"currentTime": NOW}] for n in range(calls)
    ]
    assert sorted(ChargePoint.objects.values_list("vendor", flat=True)) == [
        f"kept-{n}" for n in range(calls)
    ]
    assert OcppMessage.objects.count() == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("outbox_poller_per_test", "unwritable_log")
async def test_the_socket_stays_up_and_every_frame_is_answered_while_the_log_is_down(
    tenant: Tenant,
) -> None:
    await orm(charge_point_create, tenant=tenant, identity="CP-LOG")
    ws = OcppCommunicator("/ocpp/acme/CP-LOG", subprotocols=["ocpp1.6"])
    assert (await ws.connect(TIMEOUT))[0]

    answers = []
    for frame in [
        [2, "r-1", "FlyToTheMoon", {}],  # refused before any handler: logged apart
        [2, "r-2", "Heartbeat", {}],  # handled: logged inside its transaction
        [2, "r-3", "Heartbeat", {"extra": 1}],
    ]:
        await ws.send_to(text_data=json.dumps(frame))
        answers.append(json.loads(await ws.receive_from(TIMEOUT)))

    assert [answer[:3] for answer in answers] == [
        [4, "r-1", "NotImplemented"],
        [3, "r-2", answers[1][2]],
        [4, "r-3", "FormationViolation"],
    ]
    assert "currentTime" in answers[1][2]
    await ws.send_to(text_data=json.dumps([2, "r-4", "Heartbeat", {}]))
    assert json.loads(await ws.receive_from(TIMEOUT))[:2] == [3, "r-4"]
    await ws.disconnect()
