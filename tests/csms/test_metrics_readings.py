"""The platform readings of a scrape (csms.metrics.readings): counted from the database once per
scrape for every tenant together, and a failing one leaves the others in the answer."""

from typing import Any

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from chargepoints.models import CommandStatus
from csms.celery import app as celery_app
from csms.metrics.views import exposition
from csms.tenancy.models import Tenant
from csms.webhooks.models import Delivery, DeliveryStatus, Event, WebhookEndpoint
from tests.factories import ChargePointFactory, CommandFactory

pytestmark = pytest.mark.django_db


def samples() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(exposition().decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def deliveries(tenant: Tenant, *statuses: str) -> None:
    endpoint = WebhookEndpoint.objects.create(
        tenant=tenant, url="https://hooks.example.com/csms", secret="whsec_test"
    )
    for status in statuses:
        event = Event.objects.create(
            tenant=tenant, type="charge_point.connected", created_at=timezone.now(), data={}
        )
        Delivery.objects.create(endpoint=endpoint, event=event, status=status)


def test_outbox_depth_and_webhook_backlog_of_every_tenant(
    tenant: Tenant, other_tenant: Tenant
) -> None:
    ours, theirs = ChargePointFactory(tenant=tenant), ChargePointFactory(tenant=other_tenant)
    for charge_point, status in [
        (ours, CommandStatus.QUEUED),
        (theirs, CommandStatus.QUEUED),
        (ours, CommandStatus.SENT),
        (ours, CommandStatus.COMPLETED),
        (theirs, CommandStatus.EXPIRED),
    ]:
        CommandFactory(charge_point=charge_point, status=status)
    deliveries(tenant, DeliveryStatus.PENDING, DeliveryStatus.PENDING, DeliveryStatus.DELIVERED)
    deliveries(other_tenant, DeliveryStatus.PENDING)

    found = samples()
    assert found[("csms_commands_outbox", (("status", "queued"),))] == 2
    assert found[("csms_commands_outbox", (("status", "sent"),))] == 1
    assert found[("csms_webhook_deliveries_pending", ())] == 3
    assert found[("csms_metrics_reading_ok", (("reading", "outbox"),))] == 1


def test_the_celery_queue_is_read_from_the_broker() -> None:
    found = samples()
    assert found[("csms_metrics_reading_ok", (("reading", "celery_queues"),))] == 1
    assert found[("csms_celery_queue_length", (("queue", "celery"),))] >= 0


def test_a_failing_reading_is_reported_and_the_others_still_answer(monkeypatch: Any) -> None:
    # A broker nobody listens for (port 1 on loopback refuses at once).
    monkeypatch.setitem(celery_app.conf, "broker_read_url", "redis://127.0.0.1:1/0")
    found = samples()
    assert found[("csms_metrics_reading_ok", (("reading", "celery_queues"),))] == 0
    assert ("csms_celery_queue_length", (("queue", "celery"),)) not in found
    assert found[("csms_metrics_reading_ok", (("reading", "outbox"),))] == 1
    assert found[("csms_webhook_deliveries_pending", ())] == 0
