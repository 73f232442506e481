"""The one place webhook events are recorded (STYLE §3; the domain events reach it through
``csms.webhooks.receivers``), and replays of stored events."""

import time
from datetime import UTC, datetime
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from csms.errors import DomainError
from csms.tenancy.models import Tenant
from csms.webhooks.event_types import subscribes
from csms.webhooks.models import Delivery, Event, WebhookEndpoint
from csms.webhooks.services.outbox import deliveries_create, outbox_rescan_enqueue

# A tenant's active endpoints, per process, for a few seconds: every StatusNotification,
# MeterValues and transaction frame asks whether anyone listens, and the answer rarely changes.
# A change made in this process clears its entry at once (the endpoint services call
# ``event_subscribers_changed``); other processes see it within
# WEBHOOKS_SUBSCRIBERS_CACHE_SECONDS. ``event_emit`` re-checks the cached ids against the table
# before writing deliveries, so a just-deleted endpoint never breaks the emitting change.
_endpoints_by_tenant: dict[int, tuple[float, list[tuple[int, list[str]]]]] = {}


def event_subscribers(*, tenant_id: int, type: str) -> list[int]:
    """Ids of the tenant's active endpoints that receive ``type``: no query while this process
    read them less than ``WEBHOOKS_SUBSCRIBERS_CACHE_SECONDS`` ago, one otherwise."""
    now = time.monotonic()
    cached = _endpoints_by_tenant.get(tenant_id)
    if cached is None or now - cached[0] >= settings.WEBHOOKS_SUBSCRIBERS_CACHE_SECONDS:
        rows = list(
            WebhookEndpoint.objects.filter(tenant_id=tenant_id, active=True).values_list(
                "pk", "event_types"
            )
        )
        cached = (now, rows)
        _endpoints_by_tenant[tenant_id] = cached
    return [pk for pk, event_types in cached[1] if subscribes(event_types, type)]


def event_subscribers_forget(tenant_id: int | None = None) -> None:
    """Drop this process's cached endpoints of ``tenant_id`` (of every tenant when None)."""
    if tenant_id is None:
        _endpoints_by_tenant.clear()
    else:
        _endpoints_by_tenant.pop(tenant_id, None)


def event_subscribers_changed(*, tenant_id: int) -> None:
    """The tenant's endpoints are being changed in this transaction: forget them now, and again
    once committed (a read racing the change may have cached the old rows meanwhile)."""
    event_subscribers_forget(tenant_id)
    transaction.on_commit(partial(event_subscribers_forget, tenant_id))


def event_emit(
    *,
    tenant_id: int,
    type: str,
    data: dict[str, Any],
    charge_point_id: int | None = None,
    endpoint_ids: list[int] | None = None,
    now: datetime | None = None,
) -> Event | None:
    """Record an event and its deliveries. Call it inside the database transaction of the
    change it describes: a rolled-back change then sends nothing, and the deliveries are queued
    only after commit.

    A tenant with no active endpoint subscribed to ``type`` pays at most one query (none while
    its endpoints are cached) and nothing is stored.
    ``endpoint_ids`` (from :func:`event_subscribers`) skips that query when the caller already
    asked; ``charge_point_id`` keeps that charge point's events in order per endpoint.
    ``data`` may hold datetimes, decimals and UUIDs (stored as JSON strings).
    """
    if endpoint_ids is None:
        endpoint_ids = event_subscribers(tenant_id=tenant_id, type=type)
    if not endpoint_ids:
        return None
    # The ids may come from another moment (the cache above): only endpoints still active.
    endpoint_ids = list(
        WebhookEndpoint.objects.filter(pk__in=endpoint_ids, active=True).values_list(
            "pk", flat=True
        )
    )
    if not endpoint_ids:
        return None
    now = now or timezone.now()
    # No savepoint inside the caller's transaction (the hot path pays no extra round trips);
    # on its own this is one transaction for the event and its deliveries.
    with transaction.atomic(savepoint=False):
        event = Event.objects.create(
            tenant_id=tenant_id,
            type=type,
            created_at=now,
            data=data,
            charge_point_id=charge_point_id,
        )
        deliveries_create(event=event, endpoint_ids=endpoint_ids, now=now)
    return event


def event_envelope(event: Event) -> dict[str, Any]:
    """The stable JSON envelope integrators parse."""
    return {
        "id": str(event.id),
        "type": event.type,
        "created_at": event.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "tenant": event.tenant.slug,
        "data": event.data,
    }


# --- Replay -------------------------------------------------------------------------------------


def _replay_endpoint_check(*, tenant_id: int, endpoint: WebhookEndpoint | None) -> None:
    if endpoint is None:
        return
    if endpoint.tenant_id != tenant_id:
        raise DomainError("Unknown webhook endpoint.", code="invalid_endpoint")
    if not endpoint.active:
        raise DomainError("The webhook endpoint is not active.", code="endpoint_inactive")


def event_replay(*, event: Event, endpoint: WebhookEndpoint | None = None) -> int:
    """Send ``event`` again (a new delivery with the same ``webhook-id``) to ``endpoint``, or
    to every active endpoint subscribed to its type; the number of deliveries created."""
    _replay_endpoint_check(tenant_id=event.tenant_id, endpoint=endpoint)
    targets = (
        [endpoint]
        if endpoint is not None
        else WebhookEndpoint.objects.filter(tenant_id=event.tenant_id, active=True)
    )
    endpoint_ids = [e.pk for e in targets if subscribes(e.event_types, event.type)]
    with transaction.atomic():
        ids = deliveries_create(
            event=event, endpoint_ids=endpoint_ids, now=timezone.now(), replay=True
        )
    return len(ids)


def events_replay(
    *,
    tenant: Tenant,
    created_after: datetime,
    created_before: datetime,
    type: str | None = None,
    endpoint: WebhookEndpoint | None = None,
) -> tuple[int, int]:
    """Replay the tenant's events of a time range (oldest first, so a charge point's events
    keep their order); returns (events, deliveries). The re-scan queues the deliveries."""
    if created_after >= created_before:
        raise DomainError("created_after must be before created_before.", code="invalid_range")
    _replay_endpoint_check(tenant_id=tenant.pk, endpoint=endpoint)
    events = Event.objects.filter(
        tenant=tenant, created_at__gte=created_after, created_at__lt=created_before
    )
    if type:
        events = events.filter(type=type)
    limit = settings.WEBHOOKS_REPLAY_MAX_EVENTS
    selected = list(events.order_by("created_at", "id")[: limit + 1])
    if len(selected) > limit:
        raise DomainError(
            f"More than {limit} events in that range; replay a shorter one.", code="too_many"
        )
    return len(selected), events_redeliver(events=selected, endpoint=endpoint)


def events_redeliver(*, events: list[Event], endpoint: WebhookEndpoint | None = None) -> int:
    """New deliveries of ``events`` to ``endpoint``, or to the active endpoints of each event's
    tenant that subscribe to its type (any tenants: the admin's replay); the number created.

    Many at once: left for the re-scan, queued once after commit, instead of a task each now.
    Pass the events oldest first: a charge point's replayed events then keep their order.
    """
    if endpoint is not None:
        targets: dict[int, list[WebhookEndpoint]] = {endpoint.tenant_id: [endpoint]}
    else:
        targets = {}
        tenant_ids = {event.tenant_id for event in events}
        for candidate in WebhookEndpoint.objects.filter(tenant_id__in=tenant_ids, active=True):
            targets.setdefault(candidate.tenant_id, []).append(candidate)
    now = timezone.now()
    rows = [
        Delivery(
            endpoint_id=target.pk,
            event=event,
            charge_point_id=event.charge_point_id,
            next_attempt_at=now,
            replay=True,
        )
        for event in events
        for target in targets.get(event.tenant_id, ())
        if subscribes(target.event_types, event.type)
    ]
    with transaction.atomic():
        Delivery.objects.bulk_create(rows, batch_size=1000)
        if rows:
            transaction.on_commit(outbox_rescan_enqueue)
    return len(rows)
