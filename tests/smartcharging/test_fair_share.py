"""Fair shares of a site's limit: examples and properties (hypothesis)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartcharging.fair_share import ShareRequest, fair_shares

T0 = datetime(2024, 5, 6, 8, 0, tzinfo=UTC)
D = Decimal


def request(key: int, minutes: int = 0, max_rate: str | None = None) -> ShareRequest:
    return ShareRequest(
        key, T0 + timedelta(minutes=minutes), None if max_rate is None else D(max_rate)
    )


def test_an_equal_split_when_nobody_has_a_lower_limit() -> None:
    shares = fair_shares(
        capacity=D(48), min_rate=D(6), requests=[request(1), request(2, 1), request(3, 2)]
    )

    assert shares == {1: D(16), 2: D(16), 3: D(16)}


def test_what_a_capped_connector_cannot_take_goes_to_the_others() -> None:
    shares = fair_shares(
        capacity=D(48), min_rate=D(6), requests=[request(1, 0, "10"), request(2, 1), request(3, 2)]
    )

    assert shares == {1: D(10), 2: D(19), 3: D(19)}


def test_nobody_gets_more_than_their_own_limit_even_with_room_to_spare() -> None:
    shares = fair_shares(
        capacity=D(100), min_rate=D(6), requests=[request(1, 0, "16"), request(2, 1, "32")]
    )

    assert shares == {1: D(16), 2: D(32)}


def test_sessions_beyond_what_the_minimum_allows_wait_with_zero_first_come_first_served() -> None:
    # 20 A at 6 A minimum: three sessions fit, the fourth (latest) waits.
    requests = [request(4, 30), request(1, 0), request(3, 20), request(2, 10)]

    shares = fair_shares(capacity=D(20), min_rate=D(6), requests=requests)

    assert shares == {1: D("6.6"), 2: D("6.7"), 3: D("6.7"), 4: D(0)}


def test_a_connector_whose_limit_is_below_the_minimum_never_charges() -> None:
    shares = fair_shares(
        capacity=D(32), min_rate=D(6), requests=[request(1, 0, "5"), request(2, 1)]
    )

    assert shares == {1: D(0), 2: D(32)}


def test_shares_are_tenths_and_never_add_up_to_more_than_the_capacity() -> None:
    shares = fair_shares(
        capacity=D("10.0"), min_rate=D(0), requests=[request(1), request(2, 1), request(3, 2)]
    )

    assert sum(shares.values()) == D("10.0")
    assert sorted(shares.values()) == [D("3.3"), D("3.3"), D("3.4")]


def test_no_capacity_means_everyone_waits() -> None:
    shares = fair_shares(capacity=D(0), min_rate=D(6), requests=[request(1), request(2, 1)])

    assert shares == {1: D(0), 2: D(0)}


def test_no_sessions_no_shares() -> None:
    assert fair_shares(capacity=D(32), min_rate=D(6), requests=[]) == {}


def test_negative_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        fair_shares(capacity=D(-1), min_rate=D(6), requests=[])


# --- Properties -----------------------------------------------------------------------------

tenths = st.integers(min_value=0, max_value=2000).map(lambda n: Decimal(n) / 10)
share_requests = st.lists(
    st.builds(
        ShareRequest,
        key=st.integers(0, 10**6),
        started_at=st.integers(0, 10**5).map(lambda s: T0 + timedelta(seconds=s)),
        max_rate=st.none() | tenths,
    ),
    max_size=12,
    unique_by=lambda r: r.key,
)


@settings(max_examples=500, deadline=None)
@given(
    capacity=tenths,
    min_rate=st.integers(0, 160).map(lambda n: Decimal(n) / 10),
    requests=share_requests,
)
def test_fair_share_properties(
    capacity: Decimal, min_rate: Decimal, requests: list[ShareRequest]
) -> None:
    shares = fair_shares(capacity=capacity, min_rate=min_rate, requests=requests)
    by_key = {r.key: r for r in requests}

    assert set(shares) == set(by_key)
    # The site limit holds, in steps OCPP can carry.
    assert sum(shares.values()) <= capacity
    assert all(share * 10 == int(share * 10) for share in shares.values())
    # Each connector's own limit holds.
    for key, share in shares.items():
        if by_key[key].max_rate is not None:
            assert share <= by_key[key].max_rate
    # A session charges with at least the minimum, or not at all.
    charging = {key for key, share in shares.items() if share > 0}
    assert all(shares[key] >= min_rate for key in charging)
    # Max-min fairness: whoever gets visibly less than another is held by their own limit.
    for low in charging:
        for high in charging:
            if shares[low] + Decimal("0.1") < shares[high]:
                assert shares[low] == by_key[low].max_rate

    def eligible(r: ShareRequest) -> bool:
        return r.max_rate is None or r.max_rate >= max(min_rate, Decimal("0.1"))

    if min_rate > 0:
        # As many as the capacity carries at the minimum charge, the earliest first.
        eligible_count = sum(1 for r in requests if eligible(r))
        assert len(charging) == min(eligible_count, int(capacity // min_rate))
        waiting = [r for r in requests if eligible(r) and shares[r.key] == 0]
        for w in waiting:
            for c in charging:
                assert (by_key[c].started_at, str(c)) < (w.started_at, str(w.key))
