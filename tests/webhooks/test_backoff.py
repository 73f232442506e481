"""The retry schedule: exponential backoff with jitter, spanning about a day (pure maths)."""

import itertools
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from csms.webhooks.backoff import RetryPolicy, nominal_delay, retry_delay, retry_schedule

DEFAULT = RetryPolicy()


def test_default_schedule_grows_exponentially_then_caps() -> None:
    assert retry_schedule(DEFAULT) == [15, 45, 135, 405, 1215, 3645, 10935, 32805, 36000]


def test_default_schedule_spans_about_a_day() -> None:
    total_hours = sum(retry_schedule(DEFAULT)) / 3600

    assert 20 < total_hours < 28
    # Even with the jitter at its extremes the last attempt stays within a day, give or take.
    assert 0.8 * total_hours > 18
    assert 1.2 * total_hours < 29


def test_policy_is_read_from_settings(settings: Any) -> None:
    settings.WEBHOOKS_MAX_ATTEMPTS = 4
    settings.WEBHOOKS_RETRY_BASE_SECONDS = 2.0
    settings.WEBHOOKS_RETRY_FACTOR = 2.0

    assert retry_schedule(RetryPolicy.from_settings()) == [2, 4, 8]


def test_no_retry_after_the_last_attempt() -> None:
    assert retry_delay(DEFAULT, DEFAULT.max_attempts, rand=lambda: 0.5) is None
    assert retry_delay(DEFAULT, DEFAULT.max_attempts + 3, rand=lambda: 0.5) is None


def test_jitter_spreads_the_delay_both_ways() -> None:
    assert retry_delay(DEFAULT, 1, rand=lambda: 0.0) == pytest.approx(15 * 0.8)
    assert retry_delay(DEFAULT, 1, rand=lambda: 0.5) == pytest.approx(15)
    assert retry_delay(DEFAULT, 1, rand=lambda: 0.999999) == pytest.approx(15 * 1.2, rel=1e-4)


def test_attempts_count_from_one() -> None:
    with pytest.raises(ValueError, match="counts from 1"):
        nominal_delay(DEFAULT, 0)


@given(
    failed=st.integers(min_value=1, max_value=500),
    rand=st.floats(min_value=0, max_value=1, exclude_max=True),
)
def test_every_delay_is_within_the_jitter_band_of_its_nominal_value(
    failed: int, rand: float
) -> None:
    policy = RetryPolicy(max_attempts=1000)
    delay = retry_delay(policy, failed, rand=lambda: rand)
    nominal = nominal_delay(policy, failed)

    assert delay is not None
    assert nominal * (1 - policy.jitter) <= delay <= nominal * (1 + policy.jitter)
    assert delay <= policy.max_delay * (1 + policy.jitter)


@given(
    base=st.floats(min_value=0.1, max_value=600),
    factor=st.floats(min_value=1, max_value=10),
    max_attempts=st.integers(min_value=1, max_value=30),
)
def test_nominal_schedule_never_shrinks(base: float, factor: float, max_attempts: int) -> None:
    schedule = retry_schedule(
        RetryPolicy(max_attempts=max_attempts, base=base, factor=factor, max_delay=86400)
    )

    assert len(schedule) == max_attempts - 1
    assert all(later >= earlier for earlier, later in itertools.pairwise(schedule))
