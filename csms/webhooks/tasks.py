"""Celery tasks of the webhooks app: they take ids and call a service."""

from celery import shared_task

from csms.webhooks.services.deliveries import deliveries_rescan, delivery_attempt
from csms.webhooks.services.retention import events_purge


@shared_task(name="webhooks.deliver")
def deliver(delivery_id: int) -> str:
    return delivery_attempt(delivery_id=delivery_id)


@shared_task(name="webhooks.rescan_outbox")
def rescan_outbox() -> int:
    """Beat (every minute): deliveries that are due but whose task was lost or never queued."""
    return deliveries_rescan()


@shared_task(name="webhooks.purge_events")
def purge_events() -> int:
    """Beat (nightly): events past WEBHOOKS_EVENT_RETENTION_DAYS, with their delivery logs."""
    return events_purge()
