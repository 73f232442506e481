"""The specification's rules for a ChargingProfile beyond its JSON schema: pure, no ORM.

Checked on the OCPP-shaped (camelCase) profile, so the same rules guard our API, a raw
SetChargingProfile or RemoteStartTransaction sent through the commands API, and the installer.
Each problem names the (snake_case) API field it is about.
"""

from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from typing import Any

from smartcharging.composite import RECURRENCE, Kind, Purpose, Recurrency


@dataclass(frozen=True, slots=True)
class Problem:
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


def _moment(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def _schedule_problems(profile: dict[str, Any]) -> list[Problem]:
    schedule = profile.get("chargingSchedule") or {}
    problems = []
    duration = schedule.get("duration")
    if duration is not None and duration <= 0:
        problems.append(Problem("charging_schedule.duration", "must be a positive number of s"))
    recurrence = RECURRENCE.get(profile.get("recurrencyKind"))  # type: ignore[call-overload]
    if (
        profile.get("chargingProfileKind") == Kind.RECURRING
        and recurrence is not None
        and duration is not None
        and duration > recurrence.total_seconds()
    ):
        problems.append(
            Problem(
                "charging_schedule.duration",
                f"a {profile['recurrencyKind']} schedule lasts at most "
                f"{int(recurrence.total_seconds())} s",
            )
        )
    minimum = schedule.get("minChargingRate")
    if minimum is not None and minimum < 0:
        problems.append(Problem("charging_schedule.min_charging_rate", "must not be negative"))
    problems.extend(_period_problems(schedule.get("chargingSchedulePeriod") or [], duration))
    return problems


def _period_problems(periods: list[dict[str, Any]], duration: int | None) -> list[Problem]:
    field = "charging_schedule.charging_schedule_period"
    if not periods:
        return [Problem(field, "needs at least one period")]
    problems = []
    # OCPP 1.6 §7.13: the first period starts at 0; startPeriod values rise strictly.
    if periods[0].get("startPeriod") != 0:
        problems.append(Problem(field, "the first period must start at 0"))
    starts = [p.get("startPeriod", 0) for p in periods]
    if any(later <= earlier for earlier, later in pairwise(starts)):
        problems.append(Problem(field, "start_period values must be strictly ascending"))
    if duration is not None and any(start >= duration for start in starts):
        problems.append(Problem(field, "every period must start before the schedule's duration"))
    if any(p.get("limit", 0) < 0 for p in periods):
        problems.append(Problem(field, "limit must not be negative"))
    if any(p.get("numberPhases") not in (None, 1, 2, 3) for p in periods):
        problems.append(Problem(field, "number_phases must be 1, 2 or 3"))
    return problems


def charging_profile_problems(profile: dict[str, Any], *, strict: bool = True) -> list[Problem]:
    """What is wrong with a (schema-valid) ``csChargingProfiles`` object.

    ``strict`` adds rules that OCPP 1.6 leaves implicit but that we hold our own profiles to
    (they are 2.0.1 requirements, K01.FR.38/41, and make no sense in 1.6 either).
    """
    problems = []
    purpose, kind = profile.get("chargingProfilePurpose"), profile.get("chargingProfileKind")
    recurrency = profile.get("recurrencyKind")
    schedule = profile.get("chargingSchedule") or {}
    if profile.get("stackLevel", 0) < 0:
        problems.append(Problem("stack_level", "the lowest stack level is 0"))
    # OCPP 1.6 §7.8: transactionId "Only valid if ChargingProfilePurpose is set to TxProfile".
    if profile.get("transactionId") is not None and purpose != Purpose.TX:
        problems.append(Problem("transaction_id", "only a TxProfile names a transaction"))
    if kind == Kind.RECURRING:
        if recurrency not in tuple(Recurrency):
            problems.append(Problem("recurrency_kind", "a Recurring profile needs Daily or Weekly"))
        if schedule.get("startSchedule") is None:
            problems.append(
                Problem(
                    "charging_schedule.start_schedule",
                    "a Recurring profile needs the start of its recurrence",
                )
            )
    elif recurrency is not None:
        problems.append(Problem("recurrency_kind", "only a Recurring profile recurs"))
    valid_from, valid_to = _moment(profile.get("validFrom")), _moment(profile.get("validTo"))
    if valid_from is not None and valid_to is not None and valid_to <= valid_from:
        problems.append(Problem("valid_to", "must be later than valid_from"))
    if strict:
        if kind == Kind.RELATIVE and schedule.get("startSchedule") is not None:
            problems.append(
                Problem(
                    "charging_schedule.start_schedule",
                    "a Relative profile starts with its transaction, not at a fixed time",
                )
            )
        if purpose == Purpose.CHARGE_POINT_MAX and kind == Kind.RELATIVE:
            problems.append(
                Problem("charging_profile_kind", "a ChargePointMaxProfile cannot be Relative")
            )
    problems.extend(_schedule_problems(profile))
    return problems


def connector_problems(*, purpose: str, connector_id: int) -> list[Problem]:
    """Where a profile of ``purpose`` may be installed (OCPP 1.6 §3.13.1, §5.16)."""
    if purpose == Purpose.CHARGE_POINT_MAX and connector_id != 0:
        return [Problem("connector_id", "a ChargePointMaxProfile is installed on connector 0")]
    if purpose == Purpose.TX and connector_id == 0:
        return [Problem("connector_id", "a TxProfile is installed on the transaction's connector")]
    if connector_id < 0:
        return [Problem("connector_id", "must not be negative")]
    return []


def set_charging_profile_problems(payload: dict[str, Any]) -> list[Problem]:
    profile = payload.get("csChargingProfiles") or {}
    return [
        *connector_problems(
            purpose=profile.get("chargingProfilePurpose", ""),
            connector_id=payload.get("connectorId", 0),
        ),
        *charging_profile_problems(profile, strict=False),
    ]


def remote_start_profile_problems(payload: dict[str, Any]) -> list[Problem]:
    profile = payload.get("chargingProfile")
    if profile is None:
        return []
    problems = charging_profile_problems(profile, strict=False)
    # OCPP 1.6 §6.33: "ChargingProfilePurpose MUST be set to TxProfile".
    if profile.get("chargingProfilePurpose") != Purpose.TX:
        problems.append(Problem("charging_profile_purpose", "must be TxProfile"))
    # §7.8: the transaction does not exist yet; the charge point binds the profile to the one
    # it starts, so a transactionId here names a different (or no) transaction.
    elif profile.get("transactionId") is not None:
        problems.append(
            Problem("transaction_id", "must be absent: the transaction is the one started")
        )
    return problems


def remote_start_connector_problem(payload: dict[str, Any]) -> str | None:
    """OCPP 1.6 §5.11: RemoteStartTransaction names a connector (> 0) or none; connector 0 is
    the charge point as a whole, where no transaction runs."""
    if payload.get("connectorId") == 0:
        return "connectorId: 0 is the charge point as a whole; name a connector (> 0) or none"
    return None
