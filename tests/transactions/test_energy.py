"""transactions.energy: the energy a session is billed for, from the best evidence (issue 15 §3).
Plain functions, no database; hostile values property-tested."""

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from transactions.energy import (
    ENERGY_MISMATCH,
    INT64_MAX,
    METER_REPLACED,
    REGISTER_ROLLOVER,
    REGISTER_WENT_BACKWARDS,
    RegisterReading,
    last_register_wh,
    reading_wh,
    register_energy,
    session_energy,
)

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def readings(*values: float | int | str) -> list[RegisterReading]:
    """One reading a minute from T0, in Wh."""
    return [
        RegisterReading(T0 + timedelta(minutes=n), Decimal(str(value)))
        for n, value in enumerate(values)
    ]


# --- Reading a register's value -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "unit", "wh"),
    [
        ("1234", None, Decimal(1234)),  # §7.45: Wh by default
        ("1234", "Wh", Decimal(1234)),
        ("12.345", "kWh", Decimal("12345.000")),
        (" 7 ", "Wh", Decimal(7)),
        ("1e3", "kWh", Decimal(1000000)),
    ],
)
def test_a_register_value_is_read_in_wh_whatever_its_unit(
    value: str, unit: str | None, wh: Decimal
) -> None:
    assert reading_wh(value, unit) == wh


@pytest.mark.parametrize(
    ("value", "unit"),
    [
        ("0A1B2C", "Wh"),  # signed data
        ("NaN", "Wh"),
        ("Infinity", "kWh"),
        ("12", "V"),  # not an energy unit
        ("1e30", "Wh"),  # no meter shows that
        ("", "Wh"),
    ],
)
def test_what_no_meter_reads_is_no_reading(value: str, unit: str) -> None:
    assert reading_wh(value, unit) is None


# --- The register walk ----------------------------------------------------------------------------


def test_a_steady_register_gives_last_minus_first() -> None:
    energy = register_energy(readings(1000, 1500, 4000))

    assert energy is not None
    assert (energy.wh, energy.anomalies) == (Decimal(3000), ())


def test_readings_are_walked_in_time_order_not_arrival_order() -> None:
    late_first = list(reversed(readings(1000, 1500, 4000)))

    energy = register_energy(late_first)

    assert energy is not None and energy.wh == Decimal(3000)


def test_a_meter_that_went_backwards_counts_only_energy_past_its_highest_reading() -> None:
    energy = register_energy(readings(1000, 2000, 1900, 2500))

    assert energy is not None
    assert (energy.wh, energy.anomalies) == (Decimal(1500), (REGISTER_WENT_BACKWARDS,))


def test_a_register_rollover_counts_across_the_boundary() -> None:
    # A five-digit kWh display: 99,990 kWh -> 20 kWh is 30 kWh, not minus 99,970.
    energy = register_energy(readings(99_990_000, 99_999_000, 20_000))

    assert energy is not None
    assert (energy.wh, energy.anomalies) == (Decimal(30_000), (REGISTER_ROLLOVER,))


def test_a_meter_replaced_mid_session_counts_from_its_own_first_reading() -> None:
    energy = register_energy(readings(500_000, 503_000, 12, 2_012))

    assert energy is not None
    assert (energy.wh, energy.anomalies) == (Decimal(5_000), (METER_REPLACED,))


def test_fewer_than_two_readings_show_no_energy() -> None:
    assert register_energy(readings(1000)) is None
    assert register_energy([]) is None


# --- The choice of evidence -----------------------------------------------------------------------


def test_consistent_start_and_stop_are_the_energy() -> None:
    choice = session_energy(meter_start=1000, meter_stop=3500, readings=readings(1000, 3500))

    assert (choice.energy_wh, choice.source, choice.flags) == (2500, "meter_stop", ())


def test_a_rounded_meter_stop_is_still_the_meters_figure() -> None:
    # The lost attempt's trap: issue 15 §1 rounds 2999.5 to 3000; that stop is still trusted.
    choice = session_energy(meter_start=1000, meter_stop=3000, readings=[])

    assert (choice.energy_wh, choice.source) == (2000, "meter_stop")


def test_registers_that_saw_more_than_the_stop_says_are_flagged() -> None:
    choice = session_energy(meter_start=1000, meter_stop=1500, readings=readings(1000, 9000))

    assert (choice.energy_wh, choice.source, choice.flags) == (
        500,
        "meter_stop",
        (ENERGY_MISMATCH,),
    )


@pytest.mark.parametrize(
    ("begin", "end", "flags"),
    [
        (1000, 2000, ()),
        (1050, 2080, ()),  # within the meter's resolution
        (1000, 1500, (ENERGY_MISMATCH,)),  # the meter read less at the end than the stop says
        (50_000, 51_000, (ENERGY_MISMATCH,)),  # another meter's register
    ],
)
def test_the_meters_own_begin_and_end_readings_must_be_the_start_and_stop(
    begin: int, end: int, flags: tuple[str, ...]
) -> None:
    series = [
        RegisterReading(T0, Decimal(begin), "Transaction.Begin"),
        RegisterReading(T0 + timedelta(hours=1), Decimal(end), "Transaction.End"),
    ]

    choice = session_energy(meter_start=1000, meter_stop=2000, readings=series)

    assert (choice.energy_wh, choice.flags) == (1000, flags)


def test_periodic_samples_are_no_mismatch_whatever_their_origin() -> None:
    # Fewer Wh than the session (they need not span it), counted from another origin.
    inside = session_energy(meter_start=1000, meter_stop=5000, readings=readings(1500, 3000))
    elsewhere = session_energy(meter_start=1000, meter_stop=5000, readings=readings(10, 20))

    assert inside.flags == elsewhere.flags == ()


def test_a_stop_below_its_start_takes_the_energy_from_the_registers() -> None:
    choice = session_energy(meter_start=5000, meter_stop=4000, readings=readings(5000, 6200))

    assert (choice.energy_wh, choice.source) == (1200, "register")


def test_an_untrusted_figure_takes_the_energy_from_the_registers() -> None:
    choice = session_energy(
        meter_start=0,
        meter_stop=INT64_MAX,
        readings=readings(10, 110),
        start_stop_trusted=False,
    )

    assert (choice.energy_wh, choice.source) == (100, "register")


def test_no_usable_evidence_is_no_energy_not_a_negative_one() -> None:
    choice = session_energy(meter_start=5000, meter_stop=4000, readings=[])

    assert (choice.energy_wh, choice.source) == (None, "none")


def test_the_last_register_reading_stands_for_a_missing_meter_stop() -> None:
    assert last_register_wh(readings(1000, "1500.6")) == 1501
    assert last_register_wh([]) is None


# --- Hostile values -------------------------------------------------------------------------------

register_values = st.decimals(
    min_value=-(10**12), max_value=10**12, allow_nan=False, allow_infinity=False, places=3
)
meter_figures = st.integers(min_value=-(2**63), max_value=2**63 - 1)


@given(
    values=st.lists(register_values, max_size=30),
    meter_start=meter_figures,
    meter_stop=st.one_of(st.none(), meter_figures),
    trusted=st.booleans(),
)
def test_the_energy_is_never_negative_and_always_fits_its_column(
    values: list[Decimal], meter_start: int, meter_stop: int | None, trusted: bool
) -> None:
    series = [RegisterReading(T0 + timedelta(seconds=n), v) for n, v in enumerate(values)]

    choice = session_energy(
        meter_start=meter_start, meter_stop=meter_stop, readings=series, start_stop_trusted=trusted
    )

    assert choice.source in {"meter_stop", "register", "none"}
    assert choice.energy_wh is None or 0 <= choice.energy_wh <= INT64_MAX
    assert (choice.energy_wh is None) == (choice.source == "none")


@given(st.lists(st.decimals(min_value=0, max_value=10**9, places=1), min_size=2, max_size=30))
def test_a_register_that_only_counts_up_gives_last_minus_first(values: list[Decimal]) -> None:
    rising = sorted(values)
    series = [RegisterReading(T0 + timedelta(seconds=n), v) for n, v in enumerate(rising)]

    energy = register_energy(series)

    assert energy is not None
    assert (energy.wh, energy.anomalies) == (rising[-1] - rising[0], ())


@given(st.lists(register_values, min_size=2, max_size=30), st.randoms())
def test_the_register_walk_depends_on_the_readings_times_not_their_order(
    values: list[Decimal], shuffler: random.Random
) -> None:
    series = [RegisterReading(T0 + timedelta(seconds=n), v) for n, v in enumerate(values)]
    shuffled = list(series)
    shuffler.shuffle(shuffled)

    assert register_energy(shuffled) == register_energy(series)
