"""The composite schedule (OCPP 1.6 §3.13), case by case."""

from datetime import timedelta

import pytest

from smartcharging.composite import (
    CompositePeriod,
    Electrical,
    Kind,
    Purpose,
    RateUnit,
    Recurrency,
    composite_schedule,
    convert_limit,
    floor_to_step,
)
from tests.smartcharging.composite_builders import T0, at, profile, transaction

HOUR = 3600
DAY = 24 * HOUR
A, W = RateUnit.AMPERE, RateUnit.WATT


def periods(schedule: object) -> list[tuple[int, float | None]]:
    return [(p.start_period, p.limit) for p in schedule.periods]  # type: ignore[attr-defined]


def compose(profiles: list, **kwargs: object) -> list[tuple[int, float | None]]:
    kwargs.setdefault("connector_id", 1)
    kwargs.setdefault("start", T0)
    kwargs.setdefault("duration", 4 * HOUR)
    kwargs.setdefault("unit", A)
    return periods(composite_schedule(profiles, **kwargs))  # type: ignore[arg-type]


def test_without_profiles_nothing_limits_the_connector() -> None:
    schedule = composite_schedule([], connector_id=1, start=T0, duration=HOUR, unit=A)

    assert schedule.periods == (CompositePeriod(0, None),)
    assert (schedule.start, schedule.duration, schedule.charging_rate_unit) == (T0, HOUR, A)


def test_absolute_default_profile_on_connector_zero_applies_to_every_connector() -> None:
    default = profile((0, 16.0), (HOUR, 10.0), (2 * HOUR, 32.0))

    assert compose([default], connector_id=1) == [(0, 16.0), (HOUR, 10.0), (2 * HOUR, 32.0)]
    assert compose([default], connector_id=2) == [(0, 16.0), (HOUR, 10.0), (2 * HOUR, 32.0)]


def test_periods_count_from_the_window_start_not_the_schedule_start() -> None:
    default = profile((0, 16.0), (HOUR, 10.0), start_schedule=at(-30 * 60))

    assert compose([default]) == [(0, 16.0), (30 * 60, 10.0)]


def test_a_profile_on_another_connector_does_not_apply() -> None:
    other = profile((0, 8.0), connector_id=2)

    assert compose([other], connector_id=1) == [(0, None)]


def test_higher_stack_level_wins_within_a_purpose() -> None:
    low = profile((0, 32.0), stack_level=1, charging_profile_id=1)
    high = profile((0, 10.0), stack_level=5, charging_profile_id=2)

    assert compose([low, high]) == [(0, 10.0)]
    assert compose([high, low]) == [(0, 10.0)]


def test_lower_stack_level_applies_again_when_the_higher_schedule_ends() -> None:
    # OCPP 1.6 §3.13.2: a higher stack level whose duration has passed no longer counts.
    low = profile((0, 32.0), stack_level=1, charging_profile_id=1)
    high = profile((0, 10.0), stack_level=5, duration=HOUR, charging_profile_id=2)

    assert compose([low, high]) == [(0, 10.0), (HOUR, 32.0)]


def test_connector_specific_default_beats_the_general_one_at_the_same_stack_level() -> None:
    general = profile((0, 32.0), connector_id=0, charging_profile_id=1)
    specific = profile((0, 20.0), connector_id=1, charging_profile_id=2)

    assert compose([general, specific], connector_id=1) == [(0, 20.0)]
    assert compose([general, specific], connector_id=2) == [(0, 32.0)]


def test_tx_profile_overrides_the_default_even_when_it_allows_more() -> None:
    default = profile((0, 10.0), stack_level=9, charging_profile_id=1)
    tx_profile = profile(
        (0, 25.0), purpose=Purpose.TX, connector_id=1, stack_level=0, charging_profile_id=2
    )

    assert compose([default, tx_profile], transaction=transaction()) == [(0, 25.0)]


def test_tx_profile_counts_only_while_its_transaction_runs() -> None:
    default = profile((0, 10.0), charging_profile_id=1)
    tx_profile = profile(
        (0, 25.0), purpose=Purpose.TX, connector_id=1, transaction_id=42, charging_profile_id=2
    )

    assert compose([default, tx_profile], transaction=None) == [(0, 10.0)]
    assert compose([default, tx_profile], transaction=transaction(transaction_id=7)) == [(0, 10.0)]
    assert compose([default, tx_profile], transaction=transaction(transaction_id=42)) == [(0, 25.0)]


def test_charge_point_max_profile_caps_everything() -> None:
    cap = profile((0, 20.0), (HOUR, 40.0), purpose=Purpose.CHARGE_POINT_MAX, charging_profile_id=1)
    tx_profile = profile((0, 32.0), purpose=Purpose.TX, connector_id=1, charging_profile_id=2)

    assert compose([cap, tx_profile], transaction=transaction()) == [(0, 20.0), (HOUR, 32.0)]


def test_charge_point_max_profile_alone_limits_the_connector() -> None:
    cap = profile((0, 20.0), purpose=Purpose.CHARGE_POINT_MAX)

    assert compose([cap], connector_id=1) == [(0, 20.0)]


def test_connector_zero_shows_the_charge_point_max_profile_only() -> None:
    cap = profile((0, 63.0), purpose=Purpose.CHARGE_POINT_MAX, charging_profile_id=1)
    default = profile((0, 10.0), charging_profile_id=2)

    assert compose([cap, default], connector_id=0) == [(0, 63.0)]


def test_charge_point_max_profile_on_a_connector_is_ignored() -> None:
    misplaced = profile((0, 5.0), purpose=Purpose.CHARGE_POINT_MAX, connector_id=1)

    assert compose([misplaced], connector_id=1) == [(0, None)]


def test_relative_profile_counts_from_the_transaction_start() -> None:
    relative = profile((0, 32.0), (HOUR, 16.0), kind=Kind.RELATIVE, duration=2 * HOUR)
    started = transaction(started_at=at(-40 * 60))

    assert compose([relative], transaction=started) == [(0, 32.0), (20 * 60, 16.0), (80 * 60, None)]


def test_relative_profile_without_transaction_counts_from_the_window_start() -> None:
    relative = profile((0, 32.0), (HOUR, 16.0), kind=Kind.RELATIVE)

    assert compose([relative]) == [(0, 32.0), (HOUR, 16.0)]


def test_absolute_profile_without_start_schedule_counts_from_the_transaction_start() -> None:
    # OCPP 1.6 §7.13 startSchedule: "If absent the schedule will be relative to start of charging".
    absolute = profile((0, 32.0), (HOUR, 16.0), start_schedule=None)

    assert compose([absolute], transaction=transaction(started_at=at(-HOUR + 60))) == [
        (0, 32.0),
        (60, 16.0),
    ]


def test_absolute_profile_before_its_start_does_not_apply() -> None:
    later = profile((0, 8.0), start_schedule=at(HOUR))

    assert compose([later]) == [(0, None), (HOUR, 8.0)]


def test_daily_recurring_profile_wraps_around_midnight() -> None:
    # Cheap night: 16 A from 22:00 for 8 h, else 32 A (one period each).
    night = profile(
        (0, 16.0),
        kind=Kind.RECURRING,
        recurrency_kind=Recurrency.DAILY,
        start_schedule=T0.replace(hour=22) - timedelta(days=3),
        duration=8 * HOUR,
        stack_level=2,
        charging_profile_id=1,
    )
    day = profile((0, 32.0), stack_level=1, charging_profile_id=2, start_schedule=at(-DAY))
    window_start = T0.replace(hour=20)

    result = compose([night, day], start=window_start, duration=DAY)

    # 22:00-06:00 at 16 A, then the day profile until the window ends at 20:00.
    assert result == [(0, 32.0), (2 * HOUR, 16.0), (10 * HOUR, 32.0)]
    two_days = compose([night, day], start=window_start, duration=2 * DAY)
    assert two_days[3:] == [(DAY + 2 * HOUR, 16.0), (DAY + 10 * HOUR, 32.0)]


def test_weekly_recurring_profile_repeats_every_seven_days() -> None:
    monday_morning = profile(
        (0, 6.0),
        kind=Kind.RECURRING,
        recurrency_kind=Recurrency.WEEKLY,
        start_schedule=T0 - timedelta(weeks=4),
        duration=HOUR,
    )

    result = compose([monday_morning], start=T0 - timedelta(hours=1), duration=8 * DAY)

    assert result == [
        (0, None),
        (HOUR, 6.0),
        (2 * HOUR, None),
        (7 * DAY + HOUR, 6.0),
        (7 * DAY + 2 * HOUR, None),
    ]


def test_recurring_periods_restart_at_every_recurrence() -> None:
    ramp = profile(
        (0, 10.0),
        (12 * HOUR, 20.0),
        kind=Kind.RECURRING,
        recurrency_kind=Recurrency.DAILY,
        start_schedule=T0 - timedelta(days=10),
    )

    result = compose([ramp], start=T0, duration=2 * DAY)

    assert result == [(0, 10.0), (12 * HOUR, 20.0), (DAY, 10.0), (DAY + 12 * HOUR, 20.0)]


def test_valid_from_and_valid_to_bound_a_profile() -> None:
    bounded = profile((0, 10.0), valid_from=at(HOUR), valid_to=at(2 * HOUR))

    assert compose([bounded]) == [(0, None), (HOUR, 10.0), (2 * HOUR, None)]


def test_amperes_become_watts_with_voltage_and_phases() -> None:
    default = profile((0, 16.0), (HOUR, 16.0, 1))

    # The period's own numberPhases wins over the default of 3.
    assert compose([default], unit=W) == [(0, 16.0 * 230 * 3), (HOUR, 16.0 * 230)]
    assert compose([default], unit=W, electrical=Electrical(voltage=120)) == [
        (0, 16.0 * 120 * 3),
        (HOUR, 16.0 * 120),
    ]


def test_default_phases_apply_when_a_period_names_none() -> None:
    default = profile((0, 16.0))

    assert compose([default], unit=W, electrical=Electrical(voltage=120, phases=1)) == [(0, 1920.0)]


def test_watts_become_amperes_rounded_down_to_a_tenth() -> None:
    default = profile((0, 7400.0), unit=W)

    # 7400 W / (230 V * 3) = 10.7246 A
    assert compose([default], unit=A) == [(0, 10.7)]


def test_mixed_units_are_compared_in_the_requested_unit() -> None:
    cap = profile((0, 11000.0), purpose=Purpose.CHARGE_POINT_MAX, unit=W, charging_profile_id=1)
    default = profile((0, 16.0), charging_profile_id=2)  # 11040 W

    assert compose([cap, default], unit=W) == [(0, 11000.0)]
    assert compose([cap, default], unit=A) == [(0, 15.9)]


def test_equal_neighbouring_periods_are_merged() -> None:
    default = profile((0, 16.0), (HOUR, 16.0), (2 * HOUR, 8.0))

    assert compose([default]) == [(0, 16.0), (2 * HOUR, 8.0)]


def test_a_period_limit_of_zero_is_kept() -> None:
    paused = profile((0, 0.0), (HOUR, 16.0))

    assert compose([paused]) == [(0, 0.0), (HOUR, 16.0)]


def test_duration_must_be_positive() -> None:
    with pytest.raises(ValueError, match="duration"):
        composite_schedule([], connector_id=1, start=T0, duration=0, unit=A)


@pytest.mark.parametrize(
    ("limit", "from_unit", "to_unit", "phases", "expected"),
    [
        (16.0, A, W, 3, 11040.0),
        (16.0, A, W, 1, 3680.0),
        (11040.0, W, A, 3, 16.0),
        (3680.0, W, A, 1, 16.0),
        (10.0, A, A, 1, 10.0),
    ],
)
def test_convert_limit(
    limit: float, from_unit: RateUnit, to_unit: RateUnit, phases: int, expected: float
) -> None:
    converted = convert_limit(
        limit, from_unit=from_unit, to_unit=to_unit, number_phases=phases, electrical=Electrical()
    )

    assert converted == pytest.approx(expected)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(10.0, 10.0), (10.74, 10.7), (10.79999, 10.7), (15.9999999999, 16.0), (0.05, 0.0)],
)
def test_floor_to_step_rounds_down_to_a_tenth(value: float, expected: float) -> None:
    assert floor_to_step(value) == expected
