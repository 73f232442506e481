"""Webhook endpoints: created with a generated secret, checked against the SSRF guard, disabled
after persistent failure. Every change goes through these services: they also clear this
process's cache of who listens (``event_subscribers``), so the very next event counts it."""

import base64
import secrets
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from csms.errors import DomainError
from csms.tenancy.models import Tenant
from csms.webhooks.addresses import UnsafeUrlError, url_check
from csms.webhooks.event_types import SUBSCRIBABLE_TYPES, EventType
from csms.webhooks.models import Delivery, DeliveryStatus, Event, WebhookEndpoint
from csms.webhooks.services.events import event_emit, event_subscribers_changed

SECRET_BYTES = 32


def webhook_secret_generate() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 256 random bits, base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def webhook_url_validate(url: str) -> None:
    try:
        url_check(url)
    except UnsafeUrlError as exc:
        raise DomainError(str(exc), code="unsafe_url") from exc


def webhook_event_types_validate(event_types: Iterable[str]) -> list[str]:
    chosen = list(dict.fromkeys(event_types))
    unknown = [t for t in chosen if t not in SUBSCRIBABLE_TYPES]
    if unknown:
        raise DomainError(f"Unknown event type(s): {', '.join(unknown)}.", code="invalid_type")
    return chosen


def webhook_endpoint_create(
    *,
    tenant: Tenant,
    url: str,
    event_types: Iterable[str] = (),
    description: str = "",
    active: bool = True,
) -> WebhookEndpoint:
    webhook_url_validate(url)
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.create(
            tenant=tenant,
            url=url,
            secret=webhook_secret_generate(),
            event_types=webhook_event_types_validate(event_types),
            description=description,
            active=active,
        )
        event_subscribers_changed(tenant_id=endpoint.tenant_id)
    return endpoint


def webhook_endpoint_update(*, endpoint: WebhookEndpoint, **changes: Any) -> WebhookEndpoint:
    """Change an endpoint. Re-activating it forgets its failures; deactivating it cancels what
    was still to be sent (replay a time range to catch up)."""
    if "url" in changes and changes["url"] != endpoint.url:
        webhook_url_validate(changes["url"])
    if "event_types" in changes:
        changes["event_types"] = webhook_event_types_validate(changes["event_types"])
    was_active = endpoint.active
    if changes.get("active") and not was_active:
        changes.update(
            disabled_reason="", disabled_at=None, consecutive_failures=0, failing_since=None
        )
    for field, value in changes.items():
        setattr(endpoint, field, value)
    with transaction.atomic():
        if changes:
            endpoint.save(update_fields=[*changes, "updated_at"])
            event_subscribers_changed(tenant_id=endpoint.tenant_id)
        if was_active and not endpoint.active:
            _cancel_pending(endpoint=endpoint, reason="endpoint deactivated")
    return endpoint


def webhook_endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    """Delete an endpoint with its deliveries (the API's DELETE, the admin)."""
    with transaction.atomic():
        endpoint.delete()
        event_subscribers_changed(tenant_id=endpoint.tenant_id)


def webhook_endpoint_disable(
    *, endpoint: WebhookEndpoint, reason: str, now: datetime | None = None
) -> Event | None:
    """Stop sending to ``endpoint`` after persistent failure, and say so with an
    ``endpoint.disabled`` event (to the tenant's other endpoints and the event log)."""
    now = now or timezone.now()
    with transaction.atomic():
        disabled = WebhookEndpoint.objects.filter(pk=endpoint.pk, active=True).update(
            active=False, disabled_reason=reason[:255], disabled_at=now, updated_at=now
        )
        if not disabled:
            return None
        event_subscribers_changed(tenant_id=endpoint.tenant_id)
        endpoint.active, endpoint.disabled_reason, endpoint.disabled_at = False, reason[:255], now
        _cancel_pending(endpoint=endpoint, reason="endpoint disabled")
        return event_emit(
            tenant_id=endpoint.tenant_id,
            type=EventType.ENDPOINT_DISABLED,
            data={
                "endpoint_id": endpoint.pk,
                "url": endpoint.url,
                "description": endpoint.description,
                "reason": endpoint.disabled_reason,
                "disabled_at": now,
            },
            now=now,
        )


def _cancel_pending(*, endpoint: WebhookEndpoint, reason: str) -> int:
    return Delivery.objects.filter(endpoint=endpoint, status=DeliveryStatus.PENDING).update(
        status=DeliveryStatus.CANCELLED,
        next_attempt_at=None,
        queued_until=None,
        last_error=reason,
        updated_at=timezone.now(),
    )


def webhook_endpoint_ping(*, endpoint: WebhookEndpoint) -> Event:
    """A ``ping`` event for this endpoint only (POST /webhooks/{id}/test/)."""
    if not endpoint.active:
        raise DomainError("The webhook endpoint is not active.", code="endpoint_inactive")
    with transaction.atomic():
        event = event_emit(
            tenant_id=endpoint.tenant_id,
            type=EventType.PING,
            data={"endpoint_id": endpoint.pk, "message": "Test event from the CSMS."},
            endpoint_ids=[endpoint.pk],
        )
    assert event is not None  # noqa: S101 - an explicit endpoint always gets a delivery
    return event
