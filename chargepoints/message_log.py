"""The OCPP message log: writing it on the hot path, and its retention."""

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from chargepoints.models import OcppMessage
from csms.ocpp.storable import has_unstorable, log_text
from csms.row_insert import rows_insert

PURGE_BATCH_SIZE = 10_000
# One row: (charge_point_id, direction, message_type, message_id, action, frame, created_at)
LogRow = tuple[int, str, int | None, str, str, str, datetime]
LOG_FIELDS = (
    "charge_point_id",
    "direction",
    "message_type",
    "message_id",
    "action",
    "frame",
    "created_at",
)


def message_log_write(rows: Iterable[LogRow]) -> int:
    """Every frame in and out is kept (SPEC §4): one plain INSERT for many rows."""
    return rows_insert(OcppMessage, LOG_FIELDS, map(_storable, rows))


def _storable(row: LogRow) -> LogRow:
    """A poison frame (a NUL, an unpaired surrogate) is kept too, those characters escaped:
    unescaped, the database refused the whole batch's rows."""
    cp_id, direction, message_type, message_id, action, frame, created_at = row
    if has_unstorable(frame) or has_unstorable(message_id) or has_unstorable(action):
        return (
            cp_id,
            direction,
            message_type,
            log_text(message_id)[:64],
            log_text(action)[:64],
            log_text(frame),
            created_at,
        )
    return row


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
