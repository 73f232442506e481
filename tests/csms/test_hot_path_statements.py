"""Statements per inbound frame on the hot path (STYLE §6), pinned: the event bus costs no query
per frame (issue 14 §2). A tenant without webhooks pays for its own rows only; with an endpoint
subscribed to everything, a frame that publishes also writes that endpoint's event and delivery
(and StatusNotification reads the previous status, to report real changes only).

Counted as ``make bench`` counts them (benchmarks.hot_path): one call handled alone, through
the group commit's transaction and the real backend; BEGIN/COMMIT/SAVEPOINT not counted.
"""

from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from benchmarks.hot_path import call_statements
from chargepoints import ocpp_backend as backend
from chargepoints.models import ChargePoint, IdTag
from csms.ocpp.context import ChargePointSession
from csms.tenancy.models import Tenant
from csms.webhooks.services.endpoints import webhook_endpoint_create
from tests.factories import ChargePointFactory
from transactions.models import Transaction

pytestmark = pytest.mark.django_db

# action: statements without an endpoint, with one subscribed to every event type.
PER_FRAME = {
    "BootNotification": (7, 10),
    "StatusNotification": (3, 7),
    # On PostgreSQL one more: the transaction commits without waiting for the WAL flush
    # (csms.ocpp.execution.group_commit.commit_durability), a round trip for a disk flush.
    "Heartbeat": (1, 1),
    "Authorize": (2, 2),
    "StartTransaction": (6, 9),
    # transaction.meter_values is opt-in: an "everything" endpoint does not get it.
    "MeterValues": (3, 3),
    # One read more than the others' pattern: the session's register readings, the evidence
    # its energy is settled from (issue 15 §3), once per session.
    "StopTransaction": (6, 9),
}


def now() -> str:
    return timezone.now().isoformat()


@pytest.fixture
def station(tenant: Tenant, other_tenant: Tenant) -> ChargePoint:
    IdTag.objects.create(tenant=tenant, id_tag="TAG-1")
    ChargePointFactory(tenant=other_tenant, identity="CP-HOT")  # same identity, other tenant
    return ChargePointFactory(tenant=tenant, identity="CP-HOT")


def frames(session: ChargePointSession) -> dict[str, int]:
    """Statements of each frame of a charging session, in the order a charger sends them."""
    counts = {
        "BootNotification": call_statements(
            session, "BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"}
        )
    }

    def status(state: str) -> dict[str, Any]:
        return {"connectorId": 1, "errorCode": "NoError", "status": state, "timestamp": now()}

    call_statements(session, "StatusNotification", status("Available"))  # creates the connector
    counts["StatusNotification"] = call_statements(
        session, "StatusNotification", status("Preparing")
    )
    counts["Heartbeat"] = call_statements(session, "Heartbeat", {})
    counts["Authorize"] = call_statements(session, "Authorize", {"idTag": "TAG-1"})
    start = {"connectorId": 1, "idTag": "TAG-1", "meterStart": 0, "timestamp": now()}
    counts["StartTransaction"] = call_statements(session, "StartTransaction", start)
    tx = Transaction.objects.get(charge_point_id=session.charge_point_id)
    sampled = [{"value": "10", "measurand": "Energy.Active.Import.Register", "unit": "Wh"}]
    values = {
        "connectorId": 1,
        "transactionId": tx.pk,
        "meterValue": [{"timestamp": now(), "sampledValue": sampled}],
    }
    counts["MeterValues"] = call_statements(session, "MeterValues", values)
    stop = {"transactionId": tx.pk, "meterStop": 10, "timestamp": now()}
    counts["StopTransaction"] = call_statements(session, "StopTransaction", stop)
    return counts


@pytest.mark.parametrize("subscribed", [False, True], ids=["no endpoint", "endpoint"])
def test_each_frame_costs_the_same_statements_as_before_the_event_bus(
    station: ChargePoint, subscribed: bool, settings: Any
) -> None:
    # Who listens is read once per few seconds per process, not per frame: keep it read once.
    settings.WEBHOOKS_SUBSCRIBERS_CACHE_SECONDS = 3600
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True
    if subscribed:
        webhook_endpoint_create(tenant=station.tenant, url="http://127.0.0.1:9/hooks")
    session, _ = backend.open_session(
        tenant_slug=station.tenant.slug,
        identity=station.identity,
        authorization=None,
        channel_name="test!hot-path",
        client="",
    )

    counts = frames(session)

    column = 1 if subscribed else 0
    expected = {action: counts[column] for action, counts in PER_FRAME.items()}
    expected["Heartbeat"] += connection.vendor == "postgresql"
    assert counts == expected
