"""Sending deliveries: one attempt at a time, retried with backoff, in order per charge point.

Network I/O happens outside any database transaction (STYLE §4): a delivery is claimed with a
conditional update (a lease), posted, then its outcome is written in one short transaction.
Every function takes ``now`` so tests drive a day of retries with a controlled clock.
"""

import json
from datetime import UTC, datetime, timedelta
from functools import partial

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from standardwebhooks import Webhook

from csms.webhooks.backoff import RetryPolicy, retry_delay
from csms.webhooks.models import Delivery, DeliveryAttempt, DeliveryStatus, WebhookEndpoint
from csms.webhooks.services.endpoints import webhook_endpoint_disable
from csms.webhooks.services.events import event_envelope
from csms.webhooks.services.outbox import deliveries_enqueue, requeue_deadline
from csms.webhooks.transport import PostOutcome, webhook_post

# A claimed attempt may run this long past its HTTP time-out before another worker may retry.
LEASE_GRACE_SECONDS = 60
# Retries due sooner than this are queued with a countdown; later ones wait for the re-scan
# (long countdowns sit in worker memory and outlive a Redis visibility time-out).
COUNTDOWN_MAX_SECONDS = 300
RESCAN_BATCH = 1000


class Outcome:
    DELIVERED = "delivered"
    RETRY = "retry"
    FAILED = "failed"
    CANCELLED = "cancelled"
    NOT_DUE = "not_due"
    BLOCKED = "blocked"  # an earlier event of the same charge point is still pending
    IN_FLIGHT = "in_flight"
    FINISHED = "finished"  # nothing left to do (delivered, failed or cancelled before)


def delivery_request(delivery: Delivery, *, sent_at: datetime) -> tuple[bytes, dict[str, str]]:
    """The body and the Standard Webhooks headers (``webhook-id`` is the event's id, the same
    on every retry and replay, so receivers can deduplicate)."""
    body = json.dumps(event_envelope(delivery.event), cls=DjangoJSONEncoder, separators=(",", ":"))
    msg_id = str(delivery.event_id)
    signature = Webhook(delivery.endpoint.secret).sign(msg_id=msg_id, timestamp=sent_at, data=body)
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": signature,
    }
    return body.encode(), headers


def _earlier_pending(delivery: Delivery) -> bool:
    if delivery.charge_point_id is None:
        return False
    return Delivery.objects.filter(
        endpoint_id=delivery.endpoint_id,
        charge_point_id=delivery.charge_point_id,
        status=DeliveryStatus.PENDING,
        pk__lt=delivery.pk,
    ).exists()


def delivery_attempt(*, delivery_id: int, now: datetime | None = None) -> str:
    """Make the next attempt of a delivery if it is due, unblocked and not in flight."""
    now = now or timezone.now()
    delivery = (
        Delivery.objects.select_related("endpoint", "event__tenant").filter(pk=delivery_id).first()
    )
    if delivery is None or delivery.status != DeliveryStatus.PENDING:
        return Outcome.FINISHED
    if not delivery.endpoint.active:
        with transaction.atomic():
            _finish(delivery, status=DeliveryStatus.CANCELLED, error="endpoint inactive", now=now)
        return Outcome.CANCELLED
    if delivery.next_attempt_at is not None and delivery.next_attempt_at > now:
        return Outcome.NOT_DUE
    if _earlier_pending(delivery):
        return Outcome.BLOCKED  # queued again when the earlier one finishes
    lease = now + timedelta(seconds=settings.WEBHOOKS_TIMEOUT_SECONDS + LEASE_GRACE_SECONDS)
    claimed = (
        Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.PENDING)
        .filter(Q(locked_until=None) | Q(locked_until__lte=now))
        .update(locked_until=lease, queued_until=None)
    )
    if not claimed:
        return Outcome.IN_FLIGHT
    # Signed with the wall clock: receivers check webhook-timestamp against theirs.
    body, headers = delivery_request(delivery, sent_at=datetime.now(UTC))
    outcome = webhook_post(
        url=delivery.endpoint.url,
        body=body,
        headers=headers,
        timeout=settings.WEBHOOKS_TIMEOUT_SECONDS,
        excerpt_bytes=settings.WEBHOOKS_RESPONSE_EXCERPT_BYTES,
    )
    return _record(delivery, outcome, now=now)


def _record(delivery: Delivery, outcome: PostOutcome, *, now: datetime) -> str:
    attempt = delivery.attempts + 1
    error = outcome.error or ("" if outcome.succeeded else f"HTTP {outcome.status_code}")
    with transaction.atomic():
        DeliveryAttempt.objects.create(
            delivery=delivery,
            attempt=attempt,
            started_at=now,
            status_code=outcome.status_code,
            duration_ms=outcome.duration_ms,
            response_excerpt=outcome.response_excerpt,
            error=error[:255],
        )
        delivery.attempts = attempt
        delivery.last_status_code = outcome.status_code
        if outcome.succeeded:
            _endpoint_succeeded(delivery.endpoint)
            _finish(delivery, status=DeliveryStatus.DELIVERED, error="", now=now)
            return Outcome.DELIVERED
        _endpoint_attempt_failed(delivery.endpoint, now=now)
        delay = retry_delay(RetryPolicy.from_settings(), attempt)
        if delay is None:
            _finish(delivery, status=DeliveryStatus.FAILED, error=error, now=now)
            _endpoint_gave_up(delivery.endpoint, now=now)
            return Outcome.FAILED
        next_attempt_at = now + timedelta(seconds=delay)
        short = delay <= COUNTDOWN_MAX_SECONDS
        Delivery.objects.filter(pk=delivery.pk).update(
            attempts=attempt,
            last_status_code=outcome.status_code,
            last_error=error[:255],
            next_attempt_at=next_attempt_at,
            locked_until=None,
            queued_until=requeue_deadline(next_attempt_at) if short else None,
            updated_at=timezone.now(),
        )
        if short:
            transaction.on_commit(
                partial(deliveries_enqueue, delivery_ids=[delivery.pk], countdown=delay)
            )
    return Outcome.RETRY


def _finish(delivery: Delivery, *, status: str, error: str, now: datetime) -> None:
    Delivery.objects.filter(pk=delivery.pk).update(
        status=status,
        attempts=delivery.attempts,
        last_status_code=delivery.last_status_code,
        last_error=error[:255],
        delivered_at=now if status == DeliveryStatus.DELIVERED else None,
        next_attempt_at=None,
        locked_until=None,
        queued_until=None,
        updated_at=timezone.now(),
    )
    delivery.status = status
    # The next event of the same charge point was waiting for this one.
    if delivery.charge_point_id is not None:
        following = (
            Delivery.objects.filter(
                endpoint_id=delivery.endpoint_id,
                charge_point_id=delivery.charge_point_id,
                status=DeliveryStatus.PENDING,
            )
            .order_by("pk")
            .values_list("pk", flat=True)
            .first()
        )
        if following is not None:
            transaction.on_commit(partial(deliveries_enqueue, delivery_ids=[following]))


# --- Endpoint health ----------------------------------------------------------------------------


def _endpoint_succeeded(endpoint: WebhookEndpoint) -> None:
    if endpoint.consecutive_failures or endpoint.failing_since:  # no write while healthy
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
            consecutive_failures=0, failing_since=None
        )


def _endpoint_attempt_failed(endpoint: WebhookEndpoint, *, now: datetime) -> None:
    if endpoint.failing_since is None:
        WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since=None).update(failing_since=now)


def _endpoint_gave_up(endpoint: WebhookEndpoint, *, now: datetime) -> None:
    """A delivery used up its attempts: disable the endpoint when that has become the rule."""
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        consecutive_failures=F("consecutive_failures") + 1
    )
    current = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    failing_for = (now - current.failing_since).total_seconds() if current.failing_since else 0
    if current.consecutive_failures >= settings.WEBHOOKS_DISABLE_AFTER_FAILED_DELIVERIES:
        reason = f"{current.consecutive_failures} deliveries in a row failed every attempt"
    elif failing_for >= settings.WEBHOOKS_DISABLE_AFTER_FAILING_SECONDS:
        reason = f"every delivery attempt failed for {failing_for / 3600:.0f} hours"
    else:
        return
    webhook_endpoint_disable(endpoint=current, reason=reason, now=now)


# --- The outbox re-scan -------------------------------------------------------------------------


def deliveries_rescan(*, now: datetime | None = None, limit: int = RESCAN_BATCH) -> int:
    """Queue deliveries that are due but not in flight: their task was lost (a worker died
    between commit and delivery, the broker was down) or their retry was left to this scan.
    Only the first pending delivery of each charge point is queued (order per charge point)."""
    now = now or timezone.now()
    earlier = Delivery.objects.filter(
        endpoint_id=OuterRef("endpoint_id"),
        charge_point_id=OuterRef("charge_point_id"),
        status=DeliveryStatus.PENDING,
        pk__lt=OuterRef("pk"),
    )
    due = list(
        Delivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .filter(Q(queued_until=None) | Q(queued_until__lte=now))
        .filter(Q(locked_until=None) | Q(locked_until__lte=now))
        .filter(Q(charge_point_id=None) | ~Exists(earlier))
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    if due:
        Delivery.objects.filter(pk__in=due).update(queued_until=requeue_deadline(now))
        deliveries_enqueue(delivery_ids=due)
    return len(due)
