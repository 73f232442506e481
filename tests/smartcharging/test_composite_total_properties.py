"""Properties of the composite schedule beside tests/smartcharging/test_composite_properties.py:
boundaries between whole seconds (a charger's clock a little ahead of ours), and connector 0 as
the charge point's total (issue 18 §4). Checked against the same plain instant-by-instant
evaluation (``oracle``)."""

from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from smartcharging.composite import (
    ActiveTransaction,
    Electrical,
    Profile,
    Purpose,
    RateUnit,
    composite_total_schedule,
    floor_to_step,
)
from tests.smartcharging.composite_builders import DAY, T0, stacks, windows
from tests.smartcharging.test_composite_properties import EPSILON, composite_over, oracle

# A transaction whose start falls between two whole seconds of our window.
sub_second_transactions = st.builds(
    ActiveTransaction,
    transaction_id=st.sampled_from([42, 7]),
    started_at=st.tuples(st.integers(-DAY, 0), st.sampled_from([0.001, 0.25, 0.5, 0.999])).map(
        lambda s: T0 + timedelta(seconds=s[0] + s[1])
    ),
)


def _in_force(
    stack: list[Profile], t: datetime, tx: ActiveTransaction, start: datetime
) -> float | None:
    exact = oracle(stack, t, tx=tx, start=start, unit=RateUnit.AMPERE, electrical=Electrical())
    return None if exact is None else floor_to_step(exact)


@settings(max_examples=300, deadline=None)
@given(stack=stacks(6), tx=sub_second_transactions, window=windows, seconds_in=st.data())
def test_a_boundary_between_whole_seconds_never_lets_through_more_than_a_profile_allows(
    stack: list[Profile],
    tx: ActiveTransaction,
    window: tuple[datetime, int],
    seconds_in: st.DataObject,
) -> None:
    start, duration = window
    schedule = composite_over(stack, start, duration, RateUnit.AMPERE, tx)
    offsets = seconds_in.draw(st.lists(st.floats(0, duration - 0.001), min_size=1, max_size=20))
    fraction = (tx.started_at - T0).total_seconds() % 1
    offsets += [p.start_period - 1 + fraction for p in schedule.periods if p.start_period > 0]
    for offset in (o for o in offsets if 0 <= o < duration):
        allowed = _in_force(stack, start + timedelta(seconds=offset), tx, start)
        limit = schedule.limit_at(int(offset))
        if allowed is not None:
            assert limit is not None, offset
            assert limit <= allowed + EPSILON, offset


@settings(max_examples=300, deadline=None)
@given(stack=stacks(6), tx=sub_second_transactions, window=windows)
def test_a_whole_second_without_a_boundary_shows_the_limit_in_force(
    stack: list[Profile], tx: ActiveTransaction, window: tuple[datetime, int]
) -> None:
    start, duration = window
    schedule = composite_over(stack, start, duration, RateUnit.AMPERE, tx)
    for period in schedule.periods:
        for offset in (period.start_period, min(period.start_period + 60, duration - 1)):
            moment = start + timedelta(seconds=offset)
            during = {
                _in_force(stack, moment + timedelta(seconds=f), tx, start)
                for f in (0, 0.001, 0.25, 0.5, 0.75, 0.999)
            }
            if len(during) == 1:  # nothing changes within this second
                assert schedule.limit_at(offset) == during.pop(), offset


# --- Connector 0: the charge point's total -----------------------------------------------------

CONNECTORS = (1, 2)
two_connector_transactions = st.fixed_dictionaries(
    {
        connector: st.none()
        | st.builds(
            ActiveTransaction,
            transaction_id=st.just(40 + connector),
            started_at=st.integers(-DAY, 0).map(lambda s: T0 + timedelta(seconds=s)),
        )
        for connector in CONNECTORS
    }
)


def _total_over(
    stack: list[Profile],
    transactions: dict[int, ActiveTransaction | None],
    window: tuple[datetime, int],
) -> list[tuple[int, float | None, float | None, list[float | None]]]:
    """(offset, total, the ChargePointMaxProfile's limit, each connector's own limit) at the
    schedule's period starts and a few seconds inside each period."""
    start, duration = window
    schedule = composite_total_schedule(
        stack, transactions=transactions, start=start, duration=duration, unit=RateUnit.AMPERE
    )
    samples = []
    offsets = {p.start_period for p in schedule.periods} | {
        min(p.start_period + 7, duration - 1) for p in schedule.periods
    }
    for offset in sorted(offsets):
        t = start + timedelta(seconds=offset)

        def limit(connector: int, *, capped: bool, t: datetime = t) -> float | None:
            return oracle(
                stack,
                t,
                tx=transactions.get(connector),
                start=start,
                unit=RateUnit.AMPERE,
                electrical=Electrical(),
                connector=connector,
                capped=capped,
            )

        cap_profiles = [p for p in stack if p.purpose == Purpose.CHARGE_POINT_MAX]
        cap = oracle(
            cap_profiles,
            t,
            tx=None,
            start=start,
            unit=RateUnit.AMPERE,
            electrical=Electrical(),
            connector=0,
        )
        own = [limit(connector, capped=False) for connector in CONNECTORS]
        samples.append((offset, schedule.limit_at(offset), cap, own))
    return samples


@settings(max_examples=300, deadline=None)
@given(stack=stacks(8), transactions=two_connector_transactions, window=windows)
def test_connector_zero_is_the_sum_of_the_connectors_capped_by_the_maximum(
    stack: list[Profile],
    transactions: dict[int, ActiveTransaction | None],
    window: tuple[datetime, int],
) -> None:
    for offset, total, cap, own in _total_over(stack, transactions, window):
        summed = None if None in own else sum(x for x in own if x is not None)
        candidates = [x for x in (cap, summed) if x is not None]
        expected = floor_to_step(min(candidates)) if candidates else None
        assert total == expected, offset
        # So: never above the maximum, never below one connector alone (within it).
        if cap is not None:
            assert total is not None
            assert total <= cap + EPSILON, offset
        for alone in own:
            if total is not None and alone is not None and (cap is None or alone <= cap):
                assert total + EPSILON >= floor_to_step(alone), offset
