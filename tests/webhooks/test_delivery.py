"""Delivering to a real HTTP receiver: signatures, retries with backoff, time-outs, giving up.

The task functions are driven directly with a controlled clock (``now=``) instead of sleeping
through a day of retries; the HTTP requests are real.
"""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from standardwebhooks import Webhook, WebhookVerificationError

from csms.tenancy.models import Tenant
from csms.webhooks.backoff import RetryPolicy, retry_schedule
from csms.webhooks.event_types import EventType
from csms.webhooks.models import (
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    Event,
    WebhookEndpoint,
)
from csms.webhooks.services.deliveries import Outcome, delivery_attempt
from csms.webhooks.services.events import event_emit
from tests.webhooks.conftest import Receiver, Response, delivery_of

pytestmark = pytest.mark.django_db


def emit(tenant: Tenant, **fields: Any) -> Event:
    fields.setdefault("type", EventType.TRANSACTION_STARTED)
    fields.setdefault("data", {"transaction_id": 7, "charge_point": "CP-1"})
    event = event_emit(tenant_id=tenant.pk, **fields)
    assert event is not None
    return event


def test_delivery_is_signed_and_verifies_with_the_standard_webhooks_verifier(
    tenant: Tenant, endpoint: WebhookEndpoint, receiver: Receiver
) -> None:
    event = emit(tenant)

    outcome = delivery_attempt(delivery_id=delivery_of(event.id).pk)

    assert outcome == Outcome.DELIVERED
    (request,) = receiver.requests
    payload = Webhook(endpoint.secret).verify(request.body, request.headers)
    assert payload == {
        "id": str(event.id),
        "type": "transaction.started",
        "created_at": event.created_at.isoformat().replace("+00:00", "Z"),
        "tenant": "acme",
        "data": {"transaction_id": 7, "charge_point": "CP-1"},
    }
    assert request.headers["webhook-id"] == str(event.id)
    assert request.headers["content-type"] == "application/json"
    assert request.path == "/hooks"


def test_a_signature_made_with_another_secret_does_not_verify(
    tenant: Tenant, endpoint: WebhookEndpoint, receiver: Receiver
) -> None:
    delivery_attempt(delivery_id=delivery_of(emit(tenant).id).pk)
    (request,) = receiver.requests

    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "QUJD" * 8).verify(request.body, request.headers)
    tampered = request.body.replace(b"CP-1", b"CP-2")
    with pytest.raises(WebhookVerificationError):
        Webhook(endpoint.secret).verify(tampered, request.headers)


def test_a_delivered_delivery_is_logged_and_not_sent_twice(
    tenant: Tenant, endpoint: WebhookEndpoint, receiver: Receiver
) -> None:
    delivery = delivery_of(emit(tenant).id)

    delivery_attempt(delivery_id=delivery.pk)
    again = delivery_attempt(delivery_id=delivery.pk)

    assert again == Outcome.FINISHED
    assert len(receiver.requests) == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert delivery.attempts == 1
    assert delivery.last_status_code == 200
    attempt = DeliveryAttempt.objects.get(delivery=delivery)
    assert (attempt.attempt, attempt.status_code, attempt.response_excerpt) == (1, 200, "ok")
    assert attempt.duration_ms < 5000


def test_retries_after_500s_follow_the_backoff_schedule_until_given_up(
    tenant: Tenant, endpoint: WebhookEndpoint, receiver: Receiver, settings: Any
) -> None:
    settings.WEBHOOKS_DISABLE_AFTER_FAILED_DELIVERIES = 100
    settings.WEBHOOKS_DISABLE_AFTER_FAILING_SECONDS = 10 * 86400
    policy = RetryPolicy.from_settings()
    receiver.respond(*[500] * policy.max_attempts)
    delivery = delivery_of(emit(tenant).id)
    first = now = timezone.now()

    for nominal in retry_schedule(policy):
        assert delivery_attempt(delivery_id=delivery.pk, now=now) == Outcome.RETRY
        delivery.refresh_from_db()
        wait = (delivery.next_attempt_at - now).total_seconds()
        assert nominal * (1 - policy.jitter) <= wait <= nominal * (1 + policy.jitter)
        # Not before it is due: nothing is sent.
        early = delivery.next_attempt_at - timedelta(seconds=1)
        assert delivery_attempt(delivery_id=delivery.pk, now=early) == Outcome.NOT_DUE
        now = delivery.next_attempt_at

    assert delivery_attempt(delivery_id=delivery.pk, now=now) == Outcome.FAILED
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempts == policy.max_attempts == len(receiver.requests) == 10
    assert 18 * 3600 < (now - first).total_seconds() < 30 * 3600  # about a day
    log = list(DeliveryAttempt.objects.filter(delivery=delivery).order_by("attempt"))
    assert [a.attempt for a in log] == list(range(1, 11))
    assert {a.status_code for a in log} == {500}
    assert {a.error for a in log} == {"HTTP 500"}
    # Every retry carries the same webhook-id: receivers can deduplicate.
    assert {r.headers["webhook-id"] for r in receiver.requests} == {str(delivery.event_id)}


def test_a_retry_succeeds_after_failures(
    tenant: Tenant, endpoint: WebhookEndpoint, receiver: Receiver
) -> None:
    receiver.respond(500, 503)
    delivery = delivery_of(emit(tenant).id)
    now = timezone.now()

    outcomes = []
    for _ in range(3):
        outcomes.append(delivery_attempt(delivery_id=delivery.pk, now=now))
        delivery.refresh_from_db()
        now = delivery.next_attempt_at or now

    assert outcomes == [Outcome.RETRY, Outcome.RETRY, Outcome.DELIVERED]
    assert delivery.status == DeliveryStatus.DELIVERED
    assert [a.status_code for a in delivery.attempt_log.order_by("attempt")] == [500, 503, 200]


def test_a_receiver_that_does_not_answer_in_time_is_retried_later(
    tenant: Tenant, endpoint: WebhookEndpoint, receiver: Receiver, settings: Any
) -> None:
    settings.WEBHOOKS_TIMEOUT_SECONDS = 0.3
    receiver.respond(Response(200, delay=1.5))
    delivery = delivery_of(emit(tenant).id)
    now = timezone.now()

    assert delivery_attempt(delivery_id=delivery.pk, now=now) == Outcome.RETRY
    delivery.refresh_from_db()
    first = DeliveryAttempt.objects.get(delivery=delivery)
    assert first.status_code is None
    assert first.error == "Timed out after 0.3 s"
    assert 250 <= first.duration_ms < 1500
    policy = RetryPolicy.from_settings()
    wait = (delivery.next_attempt_at - now).total_seconds()
    assert policy.base * (1 - policy.jitter) <= wait <= policy.base * (1 + policy.jitter)

    assert delivery_attempt(delivery_id=delivery.pk, now=delivery.next_attempt_at) == (
        Outcome.DELIVERED
    )
    assert len(receiver.requests) == 2


def test_redirects_are_not_followed(
    tenant: Tenant, endpoint: WebhookEndpoint, receiver: Receiver
) -> None:
    elsewhere = receiver.url.replace("/hooks", "/elsewhere")
    receiver.respond(Response(302, headers={"Location": elsewhere}))
    delivery = delivery_of(emit(tenant).id)

    assert delivery_attempt(delivery_id=delivery.pk) == Outcome.RETRY

    assert [r.path for r in receiver.requests] == ["/hooks"]
    delivery.refresh_from_db()
    assert (delivery.last_status_code, delivery.last_error) == (302, "HTTP 302")


def test_only_an_excerpt_of_the_response_is_kept(
    tenant: Tenant, endpoint: WebhookEndpoint, receiver: Receiver, settings: Any
) -> None:
    settings.WEBHOOKS_RESPONSE_EXCERPT_BYTES = 100
    receiver.respond(Response(500, body=b"x" * 50_000))

    delivery_attempt(delivery_id=delivery_of(emit(tenant).id).pk)

    assert DeliveryAttempt.objects.get().response_excerpt == "x" * 100


def test_an_unreachable_receiver_is_an_error_in_the_log(
    tenant: Tenant, make_endpoint: Callable[..., WebhookEndpoint], receiver: Receiver
) -> None:
    # A port nobody listens on (the receiver's own port, closed for this endpoint's path).
    closed = make_endpoint(tenant, url="http://127.0.0.1:9/hooks")
    event = emit(tenant, endpoint_ids=[closed.pk])

    assert delivery_attempt(delivery_id=delivery_of(event.id).pk) == Outcome.RETRY

    attempt = DeliveryAttempt.objects.get()
    assert attempt.status_code is None
    assert "ConnectionRefusedError" in attempt.error


# --- Persistent failure ----------------------------------------------------------------------


def _fail_until_given_up(delivery: Delivery, now: Any) -> Any:
    while (outcome := delivery_attempt(delivery_id=delivery.pk, now=now)) == Outcome.RETRY:
        delivery.refresh_from_db()
        now = delivery.next_attempt_at
    assert outcome == Outcome.FAILED
    return now


def test_endpoint_is_disabled_after_consecutive_deliveries_failed_every_attempt(
    tenant: Tenant,
    make_endpoint: Callable[..., WebhookEndpoint],
    receiver: Receiver,
    settings: Any,
) -> None:
    settings.WEBHOOKS_MAX_ATTEMPTS = 2
    settings.WEBHOOKS_DISABLE_AFTER_FAILED_DELIVERIES = 2
    failing = make_endpoint(tenant, url=receiver.url.replace("/hooks", "/failing"))
    watcher = make_endpoint(tenant, event_types=["endpoint.disabled"])
    receiver.respond(*[500] * 4)
    first, second, third = (emit(tenant, endpoint_ids=[failing.pk]) for _ in range(3))
    now = timezone.now()

    now = _fail_until_given_up(delivery_of(first.id), now)
    failing.refresh_from_db()
    assert (failing.active, failing.consecutive_failures) == (True, 1)
    now = _fail_until_given_up(delivery_of(second.id), now)

    failing.refresh_from_db()
    assert not failing.active
    assert failing.disabled_reason == "2 deliveries in a row failed every attempt"
    # What was still to be sent is cancelled, and no new delivery is created for it.
    assert delivery_of(third.id).status == DeliveryStatus.CANCELLED
    assert event_emit(tenant_id=tenant.pk, type=EventType.CONNECTOR_STATUS_CHANGED, data={}) is None
    # The tenant hears of it: an endpoint.disabled event for the watcher.
    disabled = Event.objects.get(type=EventType.ENDPOINT_DISABLED)
    assert disabled.data["endpoint_id"] == failing.pk
    assert disabled.data["reason"] == failing.disabled_reason
    watcher_delivery = delivery_of(disabled.id, watcher)
    assert delivery_attempt(delivery_id=watcher_delivery.pk, now=now) == Outcome.DELIVERED
    assert receiver.events()[-1]["type"] == "endpoint.disabled"


def test_endpoint_is_disabled_after_a_day_of_failures(
    tenant: Tenant, endpoint: WebhookEndpoint, receiver: Receiver, settings: Any
) -> None:
    settings.WEBHOOKS_MAX_ATTEMPTS = 2
    receiver.respond(500, 500)
    delivery = delivery_of(emit(tenant).id)
    start = timezone.now()

    assert delivery_attempt(delivery_id=delivery.pk, now=start) == Outcome.RETRY
    late = start + timedelta(hours=25)
    assert delivery_attempt(delivery_id=delivery.pk, now=late) == Outcome.FAILED

    endpoint.refresh_from_db()
    assert not endpoint.active
    assert endpoint.disabled_reason == "every delivery attempt failed for 25 hours"


def test_a_success_forgets_earlier_failures(
    tenant: Tenant, endpoint: WebhookEndpoint, receiver: Receiver, settings: Any
) -> None:
    settings.WEBHOOKS_MAX_ATTEMPTS = 1
    receiver.respond(500)
    _fail_until_given_up(delivery_of(emit(tenant).id), timezone.now())
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 1
    assert endpoint.failing_since is not None

    assert delivery_attempt(delivery_id=delivery_of(emit(tenant).id).pk) == Outcome.DELIVERED

    endpoint.refresh_from_db()
    assert (endpoint.consecutive_failures, endpoint.failing_since, endpoint.active) == (
        0,
        None,
        True,
    )


def test_a_delivery_of_an_inactive_endpoint_is_cancelled_not_sent(
    tenant: Tenant, endpoint: WebhookEndpoint, receiver: Receiver
) -> None:
    delivery = delivery_of(emit(tenant).id)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(active=False)

    assert delivery_attempt(delivery_id=delivery.pk) == Outcome.CANCELLED

    assert receiver.requests == []
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.CANCELLED
