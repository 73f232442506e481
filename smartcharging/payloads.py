"""Between our rows and the wire: OCPP ``csChargingProfiles`` objects and composite inputs."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from smartcharging.composite import (
    Kind,
    Period,
    Profile,
    Purpose,
    RateUnit,
    Recurrency,
    Schedule,
)
from smartcharging.models import ChargingProfile


def ocpp_datetime(moment: datetime) -> str:
    """UTC with a ``Z``, as chargers parse most reliably."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def ocpp_number(value: Decimal | float | int | str) -> float:
    """A limit or rate as JSON: a number with one decimal (the schema's multipleOf 0.1)."""
    return float(Decimal(str(value)).quantize(Decimal("0.1")))


def schedule_periods_payload(periods: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for period in periods:
        item: dict[str, Any] = {
            "startPeriod": period["start_period"],
            "limit": ocpp_number(period["limit"]),
        }
        if period.get("number_phases") is not None:
            item["numberPhases"] = period["number_phases"]
        out.append(item)
    return out


def cs_charging_profiles(profile: ChargingProfile) -> dict[str, Any]:
    """The OCPP 1.6 ChargingProfile (§7.8) of ``profile``, camelCase, optional fields absent."""
    schedule: dict[str, Any] = {
        "chargingRateUnit": profile.charging_rate_unit,
        "chargingSchedulePeriod": schedule_periods_payload(profile.periods),
    }
    if profile.duration is not None:
        schedule["duration"] = profile.duration
    if profile.start_schedule is not None:
        schedule["startSchedule"] = ocpp_datetime(profile.start_schedule)
    if profile.min_charging_rate is not None:
        schedule["minChargingRate"] = ocpp_number(profile.min_charging_rate)
    payload: dict[str, Any] = {
        "chargingProfileId": profile.charging_profile_id,
        "stackLevel": profile.stack_level,
        "chargingProfilePurpose": profile.charging_profile_purpose,
        "chargingProfileKind": profile.charging_profile_kind,
    }
    if profile.transaction_id is not None:
        payload["transactionId"] = profile.transaction_id
    if profile.recurrency_kind:
        payload["recurrencyKind"] = profile.recurrency_kind
    if profile.valid_from is not None:
        payload["validFrom"] = ocpp_datetime(profile.valid_from)
    if profile.valid_to is not None:
        payload["validTo"] = ocpp_datetime(profile.valid_to)
    payload["chargingSchedule"] = schedule
    return payload


def set_charging_profile_payload(*, profile: ChargingProfile, connector_id: int) -> dict[str, Any]:
    return {"connectorId": connector_id, "csChargingProfiles": cs_charging_profiles(profile)}


def _parse(value: str | None) -> datetime | None:
    if value is None:
        return None
    moment = datetime.fromisoformat(value)
    # A charger-style timestamp without a zone is UTC (OCPP 1.6 §3.5 asks for UTC).
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def composite_profile(cs_profile: dict[str, Any], *, connector_id: int) -> Profile:
    """A ``csChargingProfiles`` object as installed on ``connector_id``, for the maths."""
    schedule = cs_profile["chargingSchedule"]
    return Profile(
        charging_profile_id=cs_profile["chargingProfileId"],
        stack_level=cs_profile["stackLevel"],
        purpose=Purpose(cs_profile["chargingProfilePurpose"]),
        kind=Kind(cs_profile["chargingProfileKind"]),
        connector_id=connector_id,
        recurrency_kind=Recurrency(cs_profile["recurrencyKind"])
        if cs_profile.get("recurrencyKind")
        else None,
        valid_from=_parse(cs_profile.get("validFrom")),
        valid_to=_parse(cs_profile.get("validTo")),
        transaction_id=cs_profile.get("transactionId"),
        schedule=Schedule(
            charging_rate_unit=RateUnit(schedule["chargingRateUnit"]),
            periods=tuple(
                Period(p["startPeriod"], float(p["limit"]), p.get("numberPhases"))
                for p in schedule["chargingSchedulePeriod"]
            ),
            duration=schedule.get("duration"),
            start_schedule=_parse(schedule.get("startSchedule")),
            min_charging_rate=schedule.get("minChargingRate"),
        ),
    )
