"""The frame rate limit (csms.ocpp.rate_limit): pure, so its promises are properties."""

from hypothesis import given
from hypothesis import strategies as st

from csms.ocpp.rate_limit import FrameRateLimit, Verdict


def limit(
    rate: float = 10, burst: int = 5, refusals: int = 3, window: float = 10
) -> FrameRateLimit:
    return FrameRateLimit(rate=rate, burst=burst, flood_refusals=refusals, flood_window=window)


@given(
    rate=st.floats(min_value=0.5, max_value=500),
    burst=st.integers(min_value=1, max_value=200),
    gaps=st.lists(st.floats(min_value=0, max_value=2), min_size=1, max_size=300),
)
def test_never_more_admitted_than_the_burst_plus_what_the_rate_refilled(
    rate: float, burst: int, gaps: list[float]
) -> None:
    bucket = limit(rate=rate, burst=burst, refusals=10**9)
    now, admitted = 0.0, 0
    for gap in gaps:
        now += gap
        admitted += bucket.admit(now) is Verdict.ADMIT
    assert admitted <= burst + rate * now + 1e-6


@given(gaps=st.lists(st.floats(min_value=0.1, max_value=5), min_size=1, max_size=100))
def test_a_charger_waiting_for_each_answer_is_never_refused(gaps: list[float]) -> None:
    # 10 frames/s allowed; a charger sending one frame per 0.1 s or slower never exceeds it.
    bucket = limit(rate=10, burst=5)
    now = 0.0
    for gap in gaps:
        now += gap
        assert bucket.admit(now) is Verdict.ADMIT


def test_a_flood_is_refused_then_disconnected() -> None:
    bucket = limit(rate=10, burst=5, refusals=3)
    verdicts = [bucket.admit(0.0) for _ in range(8)]
    later = bucket.admit(100.0)  # closing: whatever was still buffered is dropped

    assert verdicts == [Verdict.ADMIT] * 5 + [Verdict.REFUSE] * 2 + [Verdict.DISCONNECT]
    assert later is Verdict.DROP


def test_refusals_spread_beyond_the_window_do_not_disconnect() -> None:
    bucket = limit(rate=0.001, burst=1, refusals=2, window=1)
    assert bucket.admit(0) is Verdict.ADMIT
    assert bucket.admit(0.1) is Verdict.REFUSE
    assert bucket.admit(5) is Verdict.REFUSE  # a new window
    assert bucket.admit(5.1) is Verdict.DISCONNECT


def test_a_rate_of_zero_switches_it_off() -> None:
    bucket = limit(rate=0, burst=1, refusals=1)
    assert all(bucket.admit(0) is Verdict.ADMIT for _ in range(100))
