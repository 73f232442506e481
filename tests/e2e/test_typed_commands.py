"""The typed command endpoints end to end: a real daphne, a real OCPP client; ?wait= answers
201 with what the charge point said, and 202 at once for an offline one."""

import time

import pytest

from chargepoints.models import IdTag
from csms.tenancy.models import Tenant
from tests.async_orm import orm
from tests.e2e.command_target import ANSWERS, online
from tests.http_clients import HttpApi

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(
    ("endpoint", "body", "action", "payload"),
    [
        ("reset", {"type": "Hard"}, "Reset", {"type": "Hard"}),
        ("unlock", {"connector_id": 2}, "UnlockConnector", {"connectorId": 2}),
        (
            "change-availability",
            {"connector_id": 1, "type": "Inoperative"},
            "ChangeAvailability",
            {"connectorId": 1, "type": "Inoperative"},
        ),
        ("remote-start", {"id_tag": "TAG-1"}, "RemoteStartTransaction", {"idTag": "TAG-1"}),
        ("remote-stop", {"transaction_id": 5}, "RemoteStopTransaction", {"transactionId": 5}),
    ],
)
async def test_a_typed_command_is_answered_within_the_wait(
    url: str,
    http_api: HttpApi,
    tenant: Tenant,
    endpoint: str,
    body: dict,
    action: str,
    payload: dict,
) -> None:
    await orm(IdTag.objects.create, tenant=tenant, id_tag="TAG-1")
    async with online(url, "CP-1") as cp:
        reply = await http_api.post(f"/charge-points/CP-1/{endpoint}/?wait=10", body)

        assert reply.status == 201, reply.body
        assert [call[2:] for call in cp.calls] == [[action, payload]]
    assert reply.body["status"] == "completed"
    assert reply.body["response"] == ANSWERS[action]


async def test_wait_on_an_offline_charge_point_answers_at_once(
    charge_point: object, ocpp_server: str, http_api: HttpApi
) -> None:
    started = time.monotonic()
    reply = await http_api.post("/charge-points/CP-1/reset/?wait=20", {})

    assert reply.status == 202
    assert reply.body["status"] == "queued"
    assert time.monotonic() - started < 5
