"""The OCPP message log's retention."""

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from chargepoints.models import OcppMessage

PURGE_BATCH_SIZE = 10_000


def message_log_cutoff() -> datetime:
    return timezone.now() - timedelta(days=settings.OCPP_MESSAGE_LOG_RETENTION_DAYS)


def message_log_purge(*, before: datetime) -> int:
    """Delete log rows older than ``before`` in batches (short locks on a busy table)."""
    deleted = 0
    while True:
        batch = list(
            OcppMessage.objects.filter(created_at__lt=before).values_list("pk", flat=True)[
                :PURGE_BATCH_SIZE
            ]
        )
        if not batch:
            return deleted
        deleted += OcppMessage.objects.filter(pk__in=batch).delete()[0]
