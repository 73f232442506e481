"""End to end: a real charge point (the ``ocpp`` client) on a real daphne, a real Celery worker,
and a real HTTP receiver that verifies every signature."""

import subprocess
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from ocpp.v16 import call
from standardwebhooks import Webhook

from chargepoints.models import IdTag
from chargepoints.services.charge_points import charge_point_create
from csms.tenancy.models import Tenant
from csms.webhooks.services.endpoints import webhook_endpoint_create
from tests.async_orm import orm
from tests.ocpp_clients import ocpp_client
from tests.servers import ServerProcess, celery_worker_running
from tests.waiting import eventually
from tests.webhooks.conftest import Receiver

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DELIVERY_TIMEOUT = 60.0  # the worker's start-up included


@pytest.fixture
def celery_worker(transactional_db: None) -> Iterator[ServerProcess]:
    """A Celery worker process on this run's broker and test database."""
    with celery_worker_running(WEBHOOKS_ALLOW_PRIVATE_ADDRESSES="true", LOG_LEVEL="WARNING") as w:
        yield w


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


async def received(receiver: Receiver, wanted: set[str]) -> list[dict[str, Any]]:
    async def arrived() -> bool:
        return wanted <= set(receiver.types())

    await eventually(arrived, within=DELIVERY_TIMEOUT)
    return receiver.events()


async def test_a_charging_session_reaches_the_integrator_signed_and_in_order(
    tenant: Tenant,
    cp_url: Callable[[str], str],
    receiver: Receiver,
    celery_worker: subprocess.Popen[str],
) -> None:
    await orm(charge_point_create, tenant=tenant, identity="CP-WH")
    await orm(IdTag.objects.create, tenant=tenant, id_tag="TAG-WH")
    endpoint = await orm(webhook_endpoint_create, tenant=tenant, url=receiver.url)
    started_at = datetime.now(UTC).replace(microsecond=0)

    async with ocpp_client(cp_url("CP-WH"), "CP-WH") as cp:
        await cp.ask(call.BootNotification(charge_point_vendor="V", charge_point_model="M"))
        start = await cp.ask(
            call.StartTransaction(
                connector_id=1, id_tag="TAG-WH", meter_start=1000, timestamp=iso(started_at)
            )
        )
        await cp.ask(
            call.StopTransaction(
                transaction_id=start.transaction_id,
                meter_stop=8500,
                timestamp=iso(started_at + timedelta(minutes=20)),
            )
        )

    wanted = {
        "charge_point.connected",
        "charge_point.booted",
        "transaction.started",
        "transaction.stopped",
        "charge_point.disconnected",
    }
    events = await received(receiver, wanted)
    assert wanted <= {e["type"] for e in events}, celery_worker.poll()
    # One charge point's events arrive in the order they happened.
    assert [e["type"] for e in events] == [
        "charge_point.connected",
        "charge_point.booted",
        "transaction.started",
        "transaction.stopped",
        "charge_point.disconnected",
    ]
    verifier = Webhook(endpoint.secret)
    for request in receiver.requests:
        verifier.verify(request.body, request.headers)  # raises if not signed with the secret
    by_type = {e["type"]: e for e in events}
    assert by_type["transaction.started"]["data"]["transaction_id"] == start.transaction_id
    stopped = by_type["transaction.stopped"]["data"]
    assert (stopped["transaction_id"], stopped["energy_wh"]) == (start.transaction_id, 7500)
    assert {e["tenant"] for e in events} == {"acme"}
    assert {e["data"]["charge_point"] for e in events} == {"CP-WH"}
