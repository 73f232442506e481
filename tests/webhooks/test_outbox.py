"""The outbox: written with the change, sent after commit, never lost, in order per charge point.

Transactional tests (``transaction=True``) commit and roll back for real; Celery runs tasks
eagerly (tests/conftest.py), so a task queued on commit delivers before the block ends.
"""

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from chargepoints.models import ChargePoint
from csms.tenancy.models import Tenant
from csms.webhooks import tasks
from csms.webhooks.event_types import EventType
from csms.webhooks.models import Delivery, DeliveryStatus, Event, WebhookEndpoint
from csms.webhooks.services.deliveries import Outcome, deliveries_rescan, delivery_attempt
from csms.webhooks.services.events import event_emit
from tests.factories import ChargePointFactory
from tests.webhooks.conftest import Receiver, delivery_of


class ChangeFailedError(Exception):
    pass


@pytest.fixture
def lost_tasks(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """The worker dies between commit and delivery: every queued task message is lost."""
    lost: list[Any] = []
    monkeypatch.setattr(tasks.deliver, "apply_async", lambda *a, **kw: lost.append((a, kw)))
    yield lost
    monkeypatch.undo()


def emit_status(tenant: Tenant, station: ChargePoint, status: str) -> Event | None:
    return event_emit(
        tenant_id=tenant.pk,
        type=EventType.CONNECTOR_STATUS_CHANGED,
        data={"charge_point": station.identity, "connector_id": 1, "status": status},
        charge_point_id=station.pk,
    )


@pytest.mark.django_db(transaction=True)
def test_an_event_is_sent_after_its_change_commits(
    tenant: Tenant, endpoint: WebhookEndpoint, receiver: Receiver
) -> None:
    with transaction.atomic():
        station = ChargePointFactory(tenant=tenant, identity="CP-9")
        event = emit_status(tenant, station, "Charging")
        assert receiver.requests == []  # nothing leaves before the commit

    assert [e["id"] for e in receiver.events()] == [str(event.id)]
    assert delivery_of(event.id).status == DeliveryStatus.DELIVERED


@pytest.mark.django_db(transaction=True)
def test_an_event_is_never_sent_for_a_rolled_back_change(
    tenant: Tenant, endpoint: WebhookEndpoint, receiver: Receiver
) -> None:
    with pytest.raises(ChangeFailedError), transaction.atomic():
        station = ChargePointFactory(tenant=tenant, identity="CP-9")
        emit_status(tenant, station, "Charging")
        raise ChangeFailedError

    assert not ChargePoint.objects.filter(identity="CP-9").exists()
    assert not Event.objects.exists()
    assert not Delivery.objects.exists()
    assert deliveries_rescan(now=timezone.now() + timedelta(days=1)) == 0
    assert receiver.requests == []


@pytest.mark.django_db(transaction=True)
def test_no_event_is_lost_when_the_worker_dies_between_commit_and_delivery(
    tenant: Tenant,
    endpoint: WebhookEndpoint,
    receiver: Receiver,
    cp: ChargePoint,
    lost_tasks: list[Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with transaction.atomic():
        event = emit_status(tenant, cp, "Faulted")
    assert len(lost_tasks) == 1  # queued after commit, then lost with the worker
    assert receiver.requests == []
    # Queued a moment ago: not touched by the re-scan yet (its task may still be on its way).
    assert deliveries_rescan() == 0

    monkeypatch.undo()  # a new worker
    requeued = deliveries_rescan(now=timezone.now() + timedelta(minutes=6))

    assert requeued == 1
    assert [e["id"] for e in receiver.events()] == [str(event.id)]
    assert delivery_of(event.id).status == DeliveryStatus.DELIVERED


@pytest.mark.django_db(transaction=True)
def test_the_rescan_beat_task_delivers_what_a_broker_outage_left_behind(
    tenant: Tenant,
    endpoint: WebhookEndpoint,
    receiver: Receiver,
    cp: ChargePoint,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broker_down(*args: Any, **kwargs: Any) -> None:
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(tasks.deliver, "apply_async", broker_down)
    with transaction.atomic():  # the change itself commits despite the outage
        event = emit_status(tenant, cp, "Available")
    assert Event.objects.filter(pk=event.id).exists()
    monkeypatch.undo()

    assert tasks.rescan_outbox.delay().get() == 1  # due at once: the enqueue failure was noted

    assert [e["id"] for e in receiver.events()] == [str(event.id)]


@pytest.mark.django_db
def test_a_delivery_in_flight_is_neither_rescanned_nor_sent_twice(
    tenant: Tenant, endpoint: WebhookEndpoint, receiver: Receiver, cp: ChargePoint
) -> None:
    delivery = delivery_of(emit_status(tenant, cp, "Charging").id)
    now = timezone.now()
    Delivery.objects.filter(pk=delivery.pk).update(
        queued_until=None, locked_until=now + timedelta(seconds=30)
    )

    assert deliveries_rescan(now=now) == 0
    assert delivery_attempt(delivery_id=delivery.pk, now=now) == Outcome.IN_FLIGHT
    assert receiver.requests == []
    # A worker that died mid-attempt leaves its lease behind: it expires.
    later = now + timedelta(seconds=31)
    assert delivery_attempt(delivery_id=delivery.pk, now=later) == Outcome.DELIVERED


@pytest.mark.django_db
def test_a_later_event_of_a_charge_point_waits_for_the_earlier_one(
    tenant: Tenant,
    endpoint: WebhookEndpoint,
    receiver: Receiver,
    cp: ChargePoint,
    django_capture_on_commit_callbacks: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    other = ChargePointFactory(tenant=tenant, identity="CP-2")
    first, second, third = (
        emit_status(tenant, cp, s) for s in ("Preparing", "Charging", "Finishing")
    )
    unrelated = emit_status(tenant, other, "Available")

    # The later event's task runs first (workers run tasks in parallel): it must wait.
    assert delivery_attempt(delivery_id=delivery_of(second.id).pk) == Outcome.BLOCKED
    assert delivery_attempt(delivery_id=delivery_of(third.id).pk) == Outcome.BLOCKED
    # Another charge point's events do not wait.
    assert delivery_attempt(delivery_id=delivery_of(unrelated.id).pk) == Outcome.DELIVERED
    # The re-scan only ever queues the first pending event of each charge point.
    Delivery.objects.update(queued_until=None)  # as if every task had been lost
    queued: list[int] = []
    monkeypatch.setattr(tasks.deliver, "apply_async", lambda args, **kw: queued.append(args[0]))
    deliveries_rescan(now=timezone.now())
    monkeypatch.undo()
    assert queued == [delivery_of(first.id).pk]

    # Delivering the first one queues the next, and so on, in order.
    with django_capture_on_commit_callbacks(execute=True):
        assert delivery_attempt(delivery_id=delivery_of(first.id).pk) == Outcome.DELIVERED

    statuses = [e["data"]["status"] for e in receiver.events()]
    assert statuses == ["Available", "Preparing", "Charging", "Finishing"]


@pytest.mark.django_db
def test_order_is_kept_while_the_earlier_event_is_retried(
    tenant: Tenant,
    endpoint: WebhookEndpoint,
    receiver: Receiver,
    cp: ChargePoint,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    receiver.respond(500)
    first, second = (emit_status(tenant, cp, s) for s in ("Preparing", "Charging"))
    now = timezone.now()

    assert delivery_attempt(delivery_id=delivery_of(first.id).pk, now=now) == Outcome.RETRY
    assert delivery_attempt(delivery_id=delivery_of(second.id).pk, now=now) == Outcome.BLOCKED
    retry_at = Delivery.objects.get(pk=delivery_of(first.id).pk).next_attempt_at
    with django_capture_on_commit_callbacks(execute=True):
        delivery_attempt(delivery_id=delivery_of(first.id).pk, now=retry_at)

    assert [(e["data"]["status"]) for e in receiver.events()] == [
        "Preparing",
        "Preparing",
        "Charging",
    ]
    assert delivery_of(second.id).status == DeliveryStatus.DELIVERED


@pytest.mark.django_db
def test_events_of_one_charge_point_arrive_in_order_when_sent_as_they_happen(
    tenant: Tenant,
    endpoint: WebhookEndpoint,
    receiver: Receiver,
    cp: ChargePoint,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    statuses = ["Preparing", "Charging", "SuspendedEV", "Charging", "Finishing", "Available"]
    for status in statuses:
        with django_capture_on_commit_callbacks(execute=True):
            emit_status(tenant, cp, status)

    assert [e["data"]["status"] for e in receiver.events()] == statuses


@pytest.mark.django_db
def test_a_tenant_without_endpoints_pays_one_query_and_stores_nothing(
    tenant: Tenant, other_tenant: Tenant, django_assert_num_queries: Callable[..., Any]
) -> None:
    # Another tenant's endpoint does not count.
    WebhookEndpoint.objects.create(tenant=other_tenant, url="https://x.example.test/", secret="s")

    with django_assert_num_queries(1):
        event = event_emit(tenant_id=tenant.pk, type=EventType.TRANSACTION_STARTED, data={})

    assert event is None
    assert not Event.objects.exists()


@pytest.mark.django_db
def test_only_subscribed_active_endpoints_of_the_tenant_get_a_delivery(
    tenant: Tenant,
    other_tenant: Tenant,
    make_endpoint: Callable[..., WebhookEndpoint],
) -> None:
    everything = make_endpoint(tenant)
    starts_only = make_endpoint(tenant, event_types=["transaction.started"])
    stops_only = make_endpoint(tenant, event_types=["transaction.stopped"])
    make_endpoint(tenant, active=False)
    make_endpoint(other_tenant)
    meter_opt_in = make_endpoint(tenant, event_types=["transaction.meter_values"])

    started = event_emit(tenant_id=tenant.pk, type=EventType.TRANSACTION_STARTED, data={})
    meter = event_emit(tenant_id=tenant.pk, type=EventType.TRANSACTION_METER_VALUES, data={})

    assert set(started.deliveries.values_list("endpoint", flat=True)) == {
        everything.pk,
        starts_only.pk,
    }
    # Meter values are opt-in: "all events" does not include them.
    assert list(meter.deliveries.values_list("endpoint", flat=True)) == [meter_opt_in.pk]
    assert stops_only.deliveries.count() == 0
