"""The rollout arithmetic, with no database."""

from datetime import UTC, datetime, timedelta

import pytest

from firmware.rollout import (
    batch_numbers,
    failure_rate_exceeded,
    in_flight_room,
    ocpp_datetime,
    quiet_since,
    silence_verdict,
)

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def test_targets_fill_batches_in_order() -> None:
    assert batch_numbers(7, batch_size=3) == [1, 1, 1, 2, 2, 2, 3]
    assert batch_numbers(0, batch_size=3) == []
    assert batch_numbers(2, batch_size=10) == [1, 1]


def test_batch_size_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        batch_numbers(3, batch_size=0)


@pytest.mark.parametrize(
    ("failed", "succeeded", "threshold", "exceeded"),
    [
        (1, 1, 50, False),  # exactly at the threshold: not past it
        (2, 1, 50, True),
        (1, 3, 20, True),
        (0, 5, 0, False),
        (1, 99, 0, True),
        (5, 0, None, False),  # no threshold: never
        (0, 0, 10, False),  # nothing finished yet
        (1, 2, 33, True),  # 33.3 % > 33 % without float rounding
        (1, 2, 34, False),
    ],
)
def test_failure_rate_is_judged_on_finished_jobs(
    failed: int, succeeded: int, threshold: int | None, exceeded: bool
) -> None:
    assert (
        failure_rate_exceeded(failed=failed, succeeded=succeeded, threshold_percent=threshold)
        is exceeded
    )


def test_room_in_flight_never_goes_negative() -> None:
    assert in_flight_room(limit=3, in_flight=1) == 2
    assert in_flight_room(limit=3, in_flight=5) == 0


def test_silence_counts_from_the_latest_news_or_the_retrieve_date() -> None:
    heard = T0 + timedelta(minutes=5)
    later = T0 + timedelta(hours=2)
    assert quiet_since(last_heard_at=heard, dispatched_at=T0, not_before=None) == heard
    assert quiet_since(last_heard_at=None, dispatched_at=T0, not_before=None) == T0
    # Told to download at ``later``: nothing is expected before then.
    assert quiet_since(last_heard_at=heard, dispatched_at=T0, not_before=later) == later


@pytest.mark.parametrize(
    ("silent_for", "triggered_ago", "verdict"),
    [
        (timedelta(seconds=59), None, None),
        (timedelta(seconds=60), None, "trigger"),
        (timedelta(seconds=90), timedelta(seconds=30), None),  # asked recently
        (timedelta(seconds=150), timedelta(seconds=60), "trigger"),  # ask again
        (timedelta(seconds=300), None, "timeout"),
        (timedelta(seconds=300), timedelta(seconds=1), "timeout"),
    ],
)
def test_quiet_jobs_are_asked_and_silent_ones_time_out(
    silent_for: timedelta, triggered_ago: timedelta | None, verdict: str | None
) -> None:
    now = T0 + timedelta(hours=1)
    assert (
        silence_verdict(
            now=now,
            since=now - silent_for,
            triggered_at=now - triggered_ago if triggered_ago else None,
            quiet_after=60,
            timeout=300,
        )
        == verdict
    )


def test_ocpp_datetimes_are_utc_with_z() -> None:
    from zoneinfo import ZoneInfo

    local = datetime(2025, 3, 1, 13, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    assert ocpp_datetime(local) == "2025-03-01T12:00:00Z"
