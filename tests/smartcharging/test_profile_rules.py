"""The specification's rules for charging profiles beyond the JSON schema."""

from typing import Any

import pytest

from smartcharging.profile_rules import (
    charging_profile_problems,
    remote_start_profile_problems,
    set_charging_profile_problems,
)


def cs_profile(**overrides: Any) -> dict[str, Any]:
    schedule = {
        "chargingRateUnit": "A",
        "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0}],
        **overrides.pop("chargingSchedule", {}),
    }
    return {
        "chargingProfileId": 1,
        "stackLevel": 0,
        "chargingProfilePurpose": "TxDefaultProfile",
        "chargingProfileKind": "Absolute",
        "chargingSchedule": schedule,
        **overrides,
    }


def fields(problems: list) -> list[str]:
    return [problem.field for problem in problems]


def test_a_plain_profile_has_no_problems() -> None:
    assert charging_profile_problems(cs_profile()) == []


START = "2024-01-01T00:00:00Z"
PERIODS = "charging_schedule.charging_schedule_period"


def schedule(*periods: tuple, **fields: Any) -> dict[str, Any]:
    """``chargingSchedule`` overrides: periods as (startPeriod, limit[, numberPhases])."""
    keys = ("startPeriod", "limit", "numberPhases")
    if periods:
        fields["chargingSchedulePeriod"] = [dict(zip(keys, p, strict=False)) for p in periods]
    return {"chargingSchedule": fields}


RECURRING = {"chargingProfileKind": "Recurring"}


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({**RECURRING, **schedule(startSchedule=START)}, "recurrency_kind"),
        ({**RECURRING, "recurrencyKind": "Daily"}, "charging_schedule.start_schedule"),
        ({"recurrencyKind": "Daily"}, "recurrency_kind"),
        ({"transactionId": 5}, "transaction_id"),
        ({"stackLevel": -1}, "stack_level"),
        ({"validFrom": "2024-01-02T00:00:00Z", "validTo": START}, "valid_to"),
        (schedule(duration=0), "charging_schedule.duration"),
        (schedule(minChargingRate=-1), "charging_schedule.min_charging_rate"),
        (schedule(chargingSchedulePeriod=[]), PERIODS),
        (schedule((10, 1)), PERIODS),
        (schedule((0, 1), (0, 2)), PERIODS),
        (schedule((0, 1), (600, 2), (300, 3)), PERIODS),
        (schedule((0, -1)), PERIODS),
        (schedule((0, 1, 4)), PERIODS),
        (schedule((0, 1), (600, 2), duration=600), PERIODS),
        (
            {
                **RECURRING,
                "recurrencyKind": "Daily",
                **schedule(startSchedule=START, duration=86401),
            },
            "charging_schedule.duration",
        ),
        (
            {"chargingProfileKind": "Relative", **schedule(startSchedule=START)},
            "charging_schedule.start_schedule",
        ),
        (
            {"chargingProfilePurpose": "ChargePointMaxProfile", "chargingProfileKind": "Relative"},
            "charging_profile_kind",
        ),
    ],
)
def test_profile_rules(overrides: dict[str, Any], field: str) -> None:
    assert field in fields(charging_profile_problems(cs_profile(**overrides)))


def test_a_weekly_schedule_may_last_a_week() -> None:
    profile = cs_profile(
        chargingProfileKind="Recurring",
        recurrencyKind="Weekly",
        chargingSchedule={"startSchedule": "2024-01-01T00:00:00Z", "duration": 7 * 86400},
    )

    assert charging_profile_problems(profile) == []


def test_lenient_rules_accept_a_relative_profile_with_a_start_from_a_raw_command() -> None:
    profile = cs_profile(
        chargingProfileKind="Relative", chargingSchedule={"startSchedule": "2024-01-01T00:00:00Z"}
    )

    assert charging_profile_problems(profile, strict=False) == []


@pytest.mark.parametrize(
    ("purpose", "connector_id", "ok"),
    [
        ("ChargePointMaxProfile", 0, True),
        ("ChargePointMaxProfile", 1, False),
        ("TxDefaultProfile", 0, True),
        ("TxDefaultProfile", 2, True),
        ("TxProfile", 1, True),
        ("TxProfile", 0, False),
    ],
)
def test_where_each_purpose_may_be_installed(purpose: str, connector_id: int, ok: bool) -> None:
    payload = {
        "connectorId": connector_id,
        "csChargingProfiles": cs_profile(chargingProfilePurpose=purpose),
    }

    assert (set_charging_profile_problems(payload) == []) is ok


def test_remote_start_profile_must_be_a_tx_profile() -> None:
    payload = {"idTag": "TAG", "chargingProfile": cs_profile()}

    assert fields(remote_start_profile_problems(payload)) == ["charging_profile_purpose"]
    payload["chargingProfile"]["chargingProfilePurpose"] = "TxProfile"
    assert remote_start_profile_problems(payload) == []
    assert remote_start_profile_problems({"idTag": "TAG"}) == []
