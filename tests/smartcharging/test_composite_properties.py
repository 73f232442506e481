"""Properties of the composite schedule, over generated profile stacks (hypothesis)."""

from datetime import datetime, timedelta
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from smartcharging.composite import (
    RECURRENCE,
    ActiveTransaction,
    CompositeSchedule,
    Electrical,
    Kind,
    Period,
    Profile,
    Purpose,
    RateUnit,
    Schedule,
    composite_schedule,
    convert_limit,
    floor_to_step,
)
from tests.smartcharging.composite_builders import (
    DAY,
    limits,
    profiles,
    stacks,
    transactions,
    windows,
)

EPSILON = 1e-6
CONNECTOR = 1

# The supplies a W limit is converted to A (and back) for, in the one test that varies them.
electricals = st.builds(
    Electrical, voltage=st.sampled_from([110.0, 230.0, 240.0]), phases=st.sampled_from([1, 3])
)

# --- An independent, deliberately plain evaluation of §3.13 at one instant ------------------


def _period_in_force(
    p: Profile, t: datetime, tx: ActiveTransaction | None, start: datetime
) -> Period | None:
    if (p.valid_from and t < p.valid_from) or (p.valid_to and t >= p.valid_to):
        return None
    if p.kind == Kind.RELATIVE or p.schedule.start_schedule is None:
        anchor = tx.started_at if tx else start
    else:
        anchor = p.schedule.start_schedule
    offset = (t - anchor).total_seconds()
    if offset < 0:
        return None
    if p.kind == Kind.RECURRING and p.recurrency_kind:
        offset %= RECURRENCE[p.recurrency_kind].total_seconds()
    if p.schedule.duration is not None and offset >= p.schedule.duration:
        return None
    found = None
    for period in p.schedule.periods:
        if period.start_period <= offset:
            found = period
    return found


def _applies(p: Profile, tx: ActiveTransaction | None, connector: int = CONNECTOR) -> bool:
    if p.purpose == Purpose.CHARGE_POINT_MAX:
        return p.connector_id == 0
    if p.purpose == Purpose.TX_DEFAULT:
        return p.connector_id in (0, connector)
    return (
        p.connector_id == connector
        and tx is not None
        and (p.transaction_id is None or p.transaction_id == tx.transaction_id)
    )


def _in_unit(p: Profile, period: Period, unit: RateUnit, electrical: Electrical) -> float:
    return convert_limit(
        period.limit,
        from_unit=p.schedule.charging_rate_unit,
        to_unit=unit,
        number_phases=period.number_phases,
        electrical=electrical,
    )


def _top(
    candidates: list[Profile],
    purpose: Purpose,
    t: datetime,
    tx: ActiveTransaction | None,
    start: datetime,
) -> tuple[Profile, Period] | None:
    in_force = [
        (p, period)
        for p in candidates
        if p.purpose == purpose and (period := _period_in_force(p, t, tx, start)) is not None
    ]
    if not in_force:
        return None
    return max(in_force, key=lambda pair: (pair[0].stack_level, pair[0].connector_id != 0))


def oracle(
    all_profiles: list[Profile],
    t: datetime,
    *,
    tx: ActiveTransaction | None,
    start: datetime,
    unit: RateUnit,
    electrical: Electrical,
    connector: int = CONNECTOR,
    capped: bool = True,
) -> float | None:
    candidates = [p for p in all_profiles if _applies(p, tx, connector)]
    tx_level = _top(candidates, Purpose.TX, t, tx, start) or _top(
        candidates, Purpose.TX_DEFAULT, t, tx, start
    )
    cap = _top(candidates, Purpose.CHARGE_POINT_MAX, t, tx, start) if capped else None
    values = [_in_unit(*pair, unit, electrical) for pair in (tx_level, cap) if pair is not None]
    return min(values) if values else None


def composite_over(
    stack: list[Profile],
    start: datetime,
    duration: int,
    unit: RateUnit,
    tx: ActiveTransaction | None,
    electrical: Electrical | None = None,
) -> CompositeSchedule:
    """The composite schedule of connector CONNECTOR over the window, as the code computes it."""
    return composite_schedule(
        stack,
        connector_id=CONNECTOR,
        start=start,
        duration=duration,
        unit=unit,
        transaction=tx,
        electrical=electrical or Electrical(),
    )


def sample_offsets(schedule: CompositeSchedule, extra: list[int]) -> list[int]:
    offsets = {0, schedule.duration - 1, *extra}
    for period in schedule.periods:
        offsets.update({period.start_period, period.start_period - 1})
    return sorted(o for o in offsets if 0 <= o < schedule.duration)


# --- Properties -----------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    stack=stacks(6),
    tx=transactions,
    window=windows,
    unit=st.sampled_from(RateUnit),
    electrical=electricals,
    extra=st.lists(st.integers(0, 3 * DAY), max_size=10),
)
def test_composite_matches_an_instant_by_instant_evaluation(
    stack: list[Profile],
    tx: ActiveTransaction | None,
    window: tuple[datetime, int],
    unit: RateUnit,
    electrical: Electrical,
    extra: list[int],
) -> None:
    start, duration = window
    schedule = composite_over(stack, start, duration, unit, tx, electrical)
    for offset in sample_offsets(schedule, extra):
        expected = oracle(
            stack,
            start + timedelta(seconds=offset),
            tx=tx,
            start=start,
            unit=unit,
            electrical=electrical,
        )
        assert schedule.limit_at(offset) == (
            None if expected is None else floor_to_step(expected)
        ), offset


@settings(max_examples=300, deadline=None)
@given(
    stack=stacks(6),
    tx=transactions,
    window=windows,
    unit=st.sampled_from(RateUnit),
    extra=st.lists(st.integers(0, 3 * DAY), max_size=10),
)
def test_composite_is_never_above_any_applicable_limit(
    stack: list[Profile],
    tx: ActiveTransaction | None,
    window: tuple[datetime, int],
    unit: RateUnit,
    extra: list[int],
) -> None:
    start, duration = window
    electrical = Electrical()
    schedule = composite_over(stack, start, duration, unit, tx)
    for offset in sample_offsets(schedule, extra):
        t = start + timedelta(seconds=offset)
        limit = schedule.limit_at(offset)
        # The limits that apply (§3.13): the top ChargePointMaxProfile, and the top TxProfile
        # or else the top TxDefaultProfile.
        applicable = [p for p in stack if _applies(p, tx)]
        tops = [
            _top(applicable, Purpose.CHARGE_POINT_MAX, t, tx, start),
            _top(applicable, Purpose.TX, t, tx, start)
            or _top(applicable, Purpose.TX_DEFAULT, t, tx, start),
        ]
        caps = [_in_unit(*top, unit, electrical) for top in tops if top is not None]
        if caps:
            assert limit is not None
            assert limit <= min(caps) + EPSILON
        else:
            assert limit is None


@settings(max_examples=200, deadline=None)
@given(
    lower=st.lists(profiles(purpose=Purpose.TX_DEFAULT), max_size=5),
    top_limit=limits,
    window=windows,
)
def test_the_highest_stack_level_in_force_decides(
    lower: list[Profile], top_limit: float, window: tuple[datetime, int]
) -> None:
    start, duration = window
    top = Profile(
        charging_profile_id=999,
        stack_level=10,
        purpose=Purpose.TX_DEFAULT,
        kind=Kind.ABSOLUTE,
        connector_id=0,
        schedule=Schedule(
            RateUnit.AMPERE, (Period(0, top_limit),), start_schedule=start - timedelta(days=1)
        ),
    )

    schedule = composite_schedule(
        [*lower, top], connector_id=CONNECTOR, start=start, duration=duration, unit=RateUnit.AMPERE
    )

    assert [(p.start_period, p.limit) for p in schedule.periods] == [(0, top_limit)]


@settings(max_examples=200, deadline=None)
@given(
    recurring=profiles(purpose=Purpose.TX_DEFAULT).filter(lambda p: p.kind == Kind.RECURRING),
    window=windows,
    days=st.integers(2, 4),
    offsets=st.lists(st.integers(0, 7 * DAY), min_size=1, max_size=20),
)
def test_a_recurring_profile_repeats_after_its_recurrence(
    recurring: Profile, window: tuple[datetime, int], days: int, offsets: list[int]
) -> None:
    start = max(window[0], recurring.schedule.start_schedule)  # type: ignore[type-var]
    recurring = Profile(**{**_fields(recurring), "valid_from": None, "valid_to": None})
    step = int(RECURRENCE[recurring.recurrency_kind].total_seconds())  # type: ignore[index]
    duration = step * days

    schedule = composite_schedule(
        [recurring], connector_id=CONNECTOR, start=start, duration=duration, unit=RateUnit.AMPERE
    )

    for offset in offsets:
        offset %= duration - step
        assert schedule.limit_at(offset) == schedule.limit_at(offset + step), offset


@settings(max_examples=200, deadline=None)
@given(
    stack=stacks(4),
    bounded=profiles().filter(lambda p: p.valid_from is not None or p.valid_to is not None),
    tx=transactions,
    window=windows,
    extra=st.lists(st.integers(0, 3 * DAY), max_size=10),
)
def test_a_profile_has_no_effect_outside_its_validity(
    stack: list[Profile],
    bounded: Profile,
    tx: ActiveTransaction | None,
    window: tuple[datetime, int],
    extra: list[int],
) -> None:
    start, duration = window
    kwargs = {
        "connector_id": CONNECTOR,
        "start": start,
        "duration": duration,
        "unit": RateUnit.AMPERE,
        "transaction": tx,
    }
    with_it = composite_schedule([*stack, bounded], **kwargs)  # type: ignore[arg-type]
    without = composite_schedule(stack, **kwargs)  # type: ignore[arg-type]

    for offset in sample_offsets(with_it, [*extra, *(p.start_period for p in without.periods)]):
        t = start + timedelta(seconds=offset)
        outside = (bounded.valid_from is not None and t < bounded.valid_from) or (
            bounded.valid_to is not None and t >= bounded.valid_to
        )
        if outside:
            assert with_it.limit_at(offset) == without.limit_at(offset), offset


@settings(max_examples=200, deadline=None)
@given(stack=stacks(6), tx=transactions, window=windows)
def test_periods_start_at_zero_rise_strictly_and_always_change(
    stack: list[Profile], tx: ActiveTransaction | None, window: tuple[datetime, int]
) -> None:
    start, duration = window
    schedule = composite_over(stack, start, duration, RateUnit.WATT, tx)

    starts = [p.start_period for p in schedule.periods]
    assert starts[0] == 0
    assert all(a < b for a, b in pairwise(starts))
    assert all(s < duration for s in starts)
    pairs = [(p.limit, p.number_phases) for p in schedule.periods]
    assert all(a != b for a, b in pairwise(pairs))
    # every limit is a multiple of 0.1, as the OCPP schema requires
    assert all(p.limit is None or round(p.limit * 10) == p.limit * 10 for p in schedule.periods)


def _fields(profile: Profile) -> dict:
    return {name: getattr(profile, name) for name in Profile.__slots__}  # type: ignore[attr-defined]
