"""Delivery rows and their tasks: created with the event, queued after commit.

A task is only a wake-up: the :class:`~csms.webhooks.models.Delivery` row is the truth. When a
task is lost (the worker died between commit and delivery, the broker was down), the row stays
pending and the outbox re-scan (beat) queues it again once ``queued_until`` has passed.
"""

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import transaction

from csms.webhooks.models import Delivery, Event

logger = logging.getLogger(__name__)


def requeue_deadline(now: datetime) -> datetime:
    return now + timedelta(seconds=settings.WEBHOOKS_REQUEUE_AFTER_SECONDS)


def deliveries_create(
    *, event: Event, endpoint_ids: Iterable[int], now: datetime, replay: bool = False
) -> list[int]:
    """One pending delivery per endpoint, queued after commit (inside the caller's transaction)."""
    deliveries = Delivery.objects.bulk_create(
        [
            Delivery(
                endpoint_id=endpoint_id,
                event=event,
                charge_point_id=event.charge_point_id,
                next_attempt_at=now,
                queued_until=requeue_deadline(now),
                replay=replay,
            )
            for endpoint_id in endpoint_ids
        ]
    )
    ids = [delivery.pk for delivery in deliveries]
    if ids:
        transaction.on_commit(partial(deliveries_enqueue, delivery_ids=ids))
    return ids


def deliveries_enqueue(*, delivery_ids: list[int], countdown: float | None = None) -> None:
    """Queue one delivery task per id. Never raises: a broker outage must not fail the change
    that emitted the event (the re-scan delivers later)."""
    from csms.webhooks import tasks  # the tasks module imports the services

    try:
        for delivery_id in delivery_ids:
            tasks.deliver.apply_async(args=[delivery_id], countdown=countdown)
    except Exception:
        logger.warning(
            "could not queue webhook deliveries %s; the outbox re-scan will",
            delivery_ids,
            exc_info=True,
        )
        Delivery.objects.filter(pk__in=delivery_ids).update(queued_until=None)


def outbox_rescan_enqueue() -> None:
    """Queue a re-scan now (after a replay created many deliveries at once)."""
    from csms.webhooks import tasks

    try:
        tasks.rescan_outbox.delay()
    except Exception:
        logger.warning("could not queue the webhook outbox re-scan", exc_info=True)
