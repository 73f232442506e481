"""The arithmetic of a rollout: batches, the failure rate, silence. Plain functions, no ORM."""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta


def batch_numbers(count: int, *, batch_size: int) -> list[int]:
    """Batch of each of ``count`` targets in order: 1 for the first ``batch_size``, then 2…"""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    return [index // batch_size + 1 for index in range(count)]


def failure_rate_exceeded(*, failed: int, succeeded: int, threshold_percent: int | None) -> bool:
    """More than ``threshold_percent`` of the finished jobs failed (never with no threshold or
    nothing finished)."""
    finished = failed + succeeded
    if threshold_percent is None or finished == 0:
        return False
    # Integer comparison: failed/finished > threshold/100 without float rounding.
    return failed * 100 > threshold_percent * finished


def in_flight_room(*, limit: int, in_flight: int) -> int:
    return max(0, limit - in_flight)


def quiet_since(
    *, last_heard_at: datetime | None, dispatched_at: datetime | None, not_before: datetime | None
) -> datetime:
    """Since when a job has been silent. A charge point told to download at ``not_before``
    (UpdateFirmware's retrieveDate) is expected to say nothing until then."""
    moments: Sequence[datetime | None] = (last_heard_at, dispatched_at, not_before)
    known = [moment for moment in moments if moment is not None]
    return max(known) if known else datetime.min.replace(tzinfo=UTC)


def silence_verdict(
    *,
    now: datetime,
    since: datetime,
    triggered_at: datetime | None,
    quiet_after: int,
    timeout: int,
) -> str | None:
    """``"timeout"`` when silent for ``timeout`` seconds, ``"trigger"`` when silent for
    ``quiet_after`` seconds and not asked within that long, else None."""
    silent = now - since
    if silent >= timedelta(seconds=timeout):
        return "timeout"
    if silent >= timedelta(seconds=quiet_after) and (
        triggered_at is None or now - triggered_at >= timedelta(seconds=quiet_after)
    ):
        return "trigger"
    return None


def ocpp_datetime(moment: datetime) -> str:
    """An OCPP dateTime (UTC, ``Z``)."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
