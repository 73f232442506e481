"""Webhooks as a subscriber of the event bus: a change rolled back sends nothing, and a
command's webhook comes after the events its answer caused."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from chargepoints.commands.outbox import outbox_complete
from chargepoints.models import ChargePoint, Command, CommandStatus
from chargepoints.reservations.services import reservation_create
from csms.events import ChargePointConnected, publish
from csms.tenancy.models import Tenant
from csms.webhooks.models import Delivery, Event, WebhookEndpoint
from tests.factories import IdTagFactory

pytestmark = pytest.mark.django_db


def connected(station: ChargePoint) -> ChargePointConnected:
    return ChargePointConnected(
        tenant_id=station.tenant_id,
        charge_point_id=station.pk,
        identity=station.identity,
        connected_at=timezone.now(),
    )


def test_an_event_published_in_a_rolled_back_change_reaches_no_webhook(
    cp: ChargePoint, endpoint: WebhookEndpoint, django_capture_on_commit_callbacks: Any
) -> None:
    with (
        django_capture_on_commit_callbacks(execute=True) as queued,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        publish(connected(cp))
        raise RuntimeError("the change fails after publishing")

    assert not Event.objects.exists()
    assert not Delivery.objects.exists()
    assert queued == []  # no delivery task was queued either


def test_an_event_published_in_a_committed_change_is_one_delivery_per_endpoint(
    cp: ChargePoint, endpoint: WebhookEndpoint
) -> None:
    with transaction.atomic():
        publish(connected(cp))

    event = Event.objects.get()
    assert (event.type, event.data["charge_point"]) == ("charge_point.connected", "CP-1")
    assert list(Delivery.objects.values_list("endpoint_id", flat=True)) == [endpoint.pk]


def test_a_commands_webhook_comes_after_what_its_answer_changed(
    tenant: Tenant, cp: ChargePoint, endpoint: WebhookEndpoint
) -> None:
    IdTagFactory(tenant=tenant, id_tag="TAG-1")
    reservation_create(
        charge_point=cp,
        connector_id=1,
        id_tag="TAG-1",
        expiry_date=datetime.now(UTC) + timedelta(hours=1),
    )
    command = Command.objects.get(action="ReserveNow")
    Command.objects.filter(pk=command.pk).update(status=CommandStatus.SENT)

    with transaction.atomic():
        outbox_complete(command_id=command.pk, response={"status": "Accepted"})

    # One charge point's deliveries go out in the order they were written.
    written = Delivery.objects.order_by("id").values_list("event__type", "event__data__status")
    assert list(written) == [
        ("reservation.changed", "requested"),
        ("reservation.changed", "accepted"),
        ("command.completed", "completed"),
    ]
