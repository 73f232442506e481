"""A charging profile fitted to what a charge point reported (smartcharging.charger_limits):
pure, no database."""

from typing import Any

import pytest

from smartcharging.charger_limits import (
    ChargerLimits,
    charger_limits_parse,
    profile_fitted,
    profiles_count_problem,
)
from smartcharging.composite import Electrical, RateUnit


def cs_profile(unit: str = "A", *, stack_level: int = 1, **schedule: Any) -> dict[str, Any]:
    return {
        "chargingProfileId": 1,
        "stackLevel": stack_level,
        "chargingProfilePurpose": "TxDefaultProfile",
        "chargingProfileKind": "Relative",
        "chargingSchedule": {
            "chargingRateUnit": unit,
            "chargingSchedulePeriod": [
                {"startPeriod": 0, "limit": 16.0},
                {"startPeriod": 600, "limit": 10.0, "numberPhases": 1},
            ],
            **schedule,
        },
    }


@pytest.mark.parametrize(
    ("reported", "expected"),
    [
        ({}, ChargerLimits()),
        (
            {
                "chargingscheduleallowedchargingrateunit": "Current, Power",
                "chargeprofilemaxstacklevel": "8",
                "maxchargingprofilesinstalled": "16",
            },
            ChargerLimits(frozenset({RateUnit.AMPERE, RateUnit.WATT}), 8, 16),
        ),
        (
            {"chargingscheduleallowedchargingrateunit": "Power", "chargeprofilemaxstacklevel": "x"},
            ChargerLimits(frozenset({RateUnit.WATT}), None, None),
        ),
    ],
    ids=["nothing", "all", "power-only-and-garbage"],
)
def test_limits_are_read_from_the_mirrored_values(
    reported: dict[str, str], expected: ChargerLimits
) -> None:
    assert charger_limits_parse(reported) == expected


def test_amperes_go_out_as_watts_rounded_down_where_only_power_is_taken() -> None:
    limits = ChargerLimits(allowed_units=frozenset({RateUnit.WATT}))

    fitted, problems = profile_fitted(
        cs_profile(minChargingRate=6.0),
        limits=limits,
        electrical=Electrical(voltage=230.0, phases=3),
        convert=True,
    )

    assert problems == []
    schedule = fitted["chargingSchedule"]
    assert schedule["chargingRateUnit"] == "W"
    assert schedule["chargingSchedulePeriod"] == [
        {"startPeriod": 0, "limit": 11040.0},
        {"startPeriod": 600, "limit": 2300.0, "numberPhases": 1},
    ]
    assert schedule["minChargingRate"] == 4140.0


def test_watts_go_out_as_amperes_never_above_the_power_asked_for() -> None:
    limits = ChargerLimits(allowed_units=frozenset({RateUnit.AMPERE}))
    profile = cs_profile("W")
    profile["chargingSchedule"]["chargingSchedulePeriod"] = [{"startPeriod": 0, "limit": 7400.0}]

    fitted, _ = profile_fitted(
        profile, limits=limits, electrical=Electrical(voltage=230.0, phases=3), convert=True
    )

    [period] = fitted["chargingSchedule"]["chargingSchedulePeriod"]
    assert period["limit"] == 10.7  # 10.724… A, rounded down
    assert period["limit"] * 230 * 3 <= 7400


def test_a_raw_profile_in_the_wrong_unit_or_above_the_stack_level_is_refused_unchanged() -> None:
    limits = ChargerLimits(allowed_units=frozenset({RateUnit.WATT}), max_stack_level=2)
    profile = cs_profile(stack_level=3)

    fitted, problems = profile_fitted(
        profile, limits=limits, electrical=Electrical(), convert=False
    )

    assert fitted is profile
    assert [problem.field for problem in problems] == [
        "stack_level",
        "charging_schedule.charging_rate_unit",
    ]


@pytest.mark.parametrize(
    ("installed", "replaces", "refused"),
    [(3, False, False), (4, False, True), (4, True, False)],
)
def test_a_new_profile_must_fit_in_max_charging_profiles_installed(
    installed: int, replaces: bool, refused: bool
) -> None:
    problem = profiles_count_problem(
        installed=installed, replaces=replaces, limits=ChargerLimits(max_profiles=4)
    )
    assert (problem is not None) == refused
