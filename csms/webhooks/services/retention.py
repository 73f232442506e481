"""Retention of the event log (events, deliveries and attempts)."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.utils import timezone

from csms.webhooks.models import Delivery, DeliveryAttempt, DeliveryStatus, Event

PURGE_BATCH = 1000


def events_purge(*, now: datetime | None = None) -> int:
    """Delete events older than the retention period that have nothing left to send; the
    number of events deleted. Batched, so one run never holds a long transaction."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.WEBHOOKS_EVENT_RETENTION_DAYS)
    pending = Delivery.objects.filter(event=OuterRef("pk"), status=DeliveryStatus.PENDING)
    total = 0
    while True:
        ids = list(
            Event.objects.filter(created_at__lt=cutoff)
            .filter(~Exists(pending))
            .values_list("pk", flat=True)[:PURGE_BATCH]
        )
        if not ids:
            return total
        # Children first, in bulk: the ORM's cascade would load every row into memory.
        DeliveryAttempt.objects.filter(delivery__event_id__in=ids).delete()
        Delivery.objects.filter(event_id__in=ids).delete()
        total += Event.objects.filter(pk__in=ids).delete()[0]
