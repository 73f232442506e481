"""Builders of composite-schedule inputs (plain dataclasses, no database): small ones by hand,
and the hypothesis strategies that generate profile stacks, transactions and windows."""

from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

from smartcharging.composite import (
    RECURRENCE,
    ActiveTransaction,
    Kind,
    Period,
    Profile,
    Purpose,
    RateUnit,
    Recurrency,
    Schedule,
)

T0 = datetime(2024, 5, 6, 8, 0, tzinfo=UTC)  # a Monday


def at(seconds: float = 0, *, base: datetime = T0) -> datetime:
    return base + timedelta(seconds=seconds)


def profile(
    *periods: tuple[int, float] | tuple[int, float, int],
    purpose: Purpose = Purpose.TX_DEFAULT,
    stack_level: int = 0,
    kind: Kind = Kind.ABSOLUTE,
    connector_id: int = 0,
    unit: RateUnit = RateUnit.AMPERE,
    start_schedule: datetime | None = T0,
    duration: int | None = None,
    recurrency_kind: Recurrency | None = None,
    valid_from: datetime | None = None,
    valid_to: datetime | None = None,
    transaction_id: int | None = None,
    charging_profile_id: int = 1,
) -> Profile:
    return Profile(
        charging_profile_id=charging_profile_id,
        stack_level=stack_level,
        purpose=purpose,
        kind=kind,
        connector_id=connector_id,
        recurrency_kind=recurrency_kind,
        valid_from=valid_from,
        valid_to=valid_to,
        transaction_id=transaction_id,
        schedule=Schedule(
            charging_rate_unit=unit,
            periods=tuple(Period(*p) for p in periods),
            duration=duration,
            start_schedule=None if kind == Kind.RELATIVE else start_schedule,
        ),
    )


def transaction(started_at: datetime = T0, transaction_id: int = 42) -> ActiveTransaction:
    return ActiveTransaction(transaction_id, started_at)


# --- Generated (hypothesis) ------------------------------------------------------------------

DAY = 86400
seconds = st.integers(min_value=-3 * DAY, max_value=DAY)
limits = st.integers(min_value=0, max_value=800).map(lambda tenths: tenths / 10)


@st.composite
def schedules(draw: st.DrawFn, *, max_duration: int | None = None) -> tuple:
    count = draw(st.integers(min_value=1, max_value=4))
    gaps = draw(st.lists(st.integers(60, 6 * 3600), min_size=count - 1, max_size=count - 1))
    starts = [0]
    for gap in gaps:
        starts.append(starts[-1] + gap)
    unit = draw(st.sampled_from(RateUnit))
    scale = 230 if unit == RateUnit.WATT else 1
    periods = tuple(
        Period(start, draw(limits) * scale, draw(st.sampled_from([None, 1, 3]))) for start in starts
    )
    duration = draw(st.none() | st.integers(min_value=starts[-1] + 1, max_value=3 * DAY))
    if max_duration is not None and (duration is None or duration > max_duration):
        duration = draw(st.none() | st.integers(min_value=starts[-1] + 1, max_value=max_duration))
    return unit, periods, duration


@st.composite
def profiles(draw: st.DrawFn, *, purpose: Purpose | None = None) -> Profile:
    purpose = purpose or draw(st.sampled_from(Purpose))
    kind = draw(st.sampled_from(Kind))
    recurrency = draw(st.sampled_from(Recurrency)) if kind == Kind.RECURRING else None
    max_duration = int(RECURRENCE[recurrency].total_seconds()) if recurrency else None
    unit, periods, duration = draw(schedules(max_duration=max_duration))
    if max_duration is not None and duration is None:
        duration = None  # a recurrence without a duration runs until the next one
    connector = {
        Purpose.CHARGE_POINT_MAX: st.just(0),
        Purpose.TX_DEFAULT: st.sampled_from([0, 1, 2]),
        Purpose.TX: st.sampled_from([1, 2]),
    }[purpose]
    valid_from = draw(st.none() | seconds.map(lambda s: T0 + timedelta(seconds=s)))
    valid_to = draw(
        st.none() | st.integers(1, 2 * DAY).map(lambda s: (valid_from or T0) + timedelta(seconds=s))
    )
    return Profile(
        charging_profile_id=draw(st.integers(1, 10**6)),
        stack_level=draw(st.integers(0, 3)),
        purpose=purpose,
        kind=kind,
        connector_id=draw(connector),
        recurrency_kind=recurrency,
        valid_from=valid_from,
        valid_to=valid_to,
        transaction_id=draw(st.sampled_from([None, 42, 7])) if purpose == Purpose.TX else None,
        schedule=Schedule(
            charging_rate_unit=unit,
            periods=periods,
            duration=duration,
            start_schedule=None if kind == Kind.RELATIVE else T0 + timedelta(seconds=draw(seconds)),
        ),
    )


def stacks(size: int) -> st.SearchStrategy[list[Profile]]:
    """What a charge point can hold: one profile per connector, purpose and stack level
    (OCPP 1.6 §5.16.1 replaces the old one otherwise)."""
    return st.lists(
        profiles(), max_size=size, unique_by=lambda p: (p.connector_id, p.purpose, p.stack_level)
    )


transactions = st.none() | st.builds(
    ActiveTransaction,
    transaction_id=st.sampled_from([42, 7]),
    started_at=st.integers(-DAY, 0).map(lambda s: T0 + timedelta(seconds=s)),
)
windows = st.tuples(
    st.integers(0, DAY).map(lambda s: T0 + timedelta(seconds=s)),
    st.integers(60, 3 * DAY),
)
