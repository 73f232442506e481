"""Properties of the retry schedule of rejected charging profiles (hypothesis)."""

from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartcharging.backoff import retry_delays


@given(
    retries=st.integers(0, 20),
    base=st.floats(0, 600, allow_nan=False),
    cap=st.floats(1, 7200, allow_nan=False),
)
def test_one_delay_per_retry_never_shrinking_never_above_the_cap(
    retries: int, base: float, cap: float
) -> None:
    delays = retry_delays(retries=retries, base_seconds=base, cap_seconds=cap)

    assert len(delays) == retries
    assert all(0 <= delay <= cap for delay in delays)
    assert all(a <= b for a, b in pairwise(delays))
    if delays:
        assert delays[0] == min(base, cap)


@given(retries=st.integers(2, 10), base=st.floats(0.1, 60, allow_nan=False))
def test_each_delay_doubles_the_one_before_until_the_cap(retries: int, base: float) -> None:
    delays = retry_delays(retries=retries, base_seconds=base, cap_seconds=float("inf"))

    assert all(b == pytest.approx(2 * a) for a, b in pairwise(delays))


def test_a_negative_schedule_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        retry_delays(retries=-1, base_seconds=1)
