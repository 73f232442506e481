"""The event log is kept for WEBHOOKS_EVENT_RETENTION_DAYS, never with anything left to send."""

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from csms.tenancy.models import Tenant
from csms.webhooks.event_types import EventType
from csms.webhooks.models import Delivery, DeliveryAttempt, DeliveryStatus, Event, WebhookEndpoint
from csms.webhooks.services.deliveries import delivery_attempt
from csms.webhooks.services.events import event_emit
from csms.webhooks.services.retention import events_purge
from tests.webhooks.conftest import Receiver

pytestmark = pytest.mark.django_db


def test_old_events_are_purged_with_their_delivery_logs(
    tenant: Tenant, endpoint: WebhookEndpoint, receiver: Receiver, settings: Any
) -> None:
    settings.WEBHOOKS_EVENT_RETENTION_DAYS = 30
    now = timezone.now()
    old = event_emit(
        tenant_id=tenant.pk,
        type=EventType.PING,
        data={},
        endpoint_ids=[endpoint.pk],
        now=now - timedelta(days=31),
    )
    delivery_attempt(delivery_id=Delivery.objects.get(event=old).pk)
    stuck = event_emit(
        tenant_id=tenant.pk,
        type=EventType.TRANSACTION_STARTED,
        data={},
        now=now - timedelta(days=40),
    )
    recent = event_emit(
        tenant_id=tenant.pk,
        type=EventType.TRANSACTION_STARTED,
        data={},
        now=now - timedelta(days=29),
    )

    assert events_purge(now=now) == 1

    assert set(Event.objects.values_list("pk", flat=True)) == {stuck.pk, recent.pk}
    assert not DeliveryAttempt.objects.exists()
    # Still pending (say, an endpoint paused mid-retry): kept until it is settled.
    assert Delivery.objects.get(event=stuck).status == DeliveryStatus.PENDING


def test_the_outbox_rescan_and_the_purge_are_scheduled_by_a_data_migration() -> None:
    rescan = PeriodicTask.objects.get(task="webhooks.rescan_outbox")
    purge = PeriodicTask.objects.get(task="webhooks.purge_events")

    assert rescan.enabled
    assert (rescan.interval.every, rescan.interval.period) == (1, "minutes")
    assert purge.crontab is not None
