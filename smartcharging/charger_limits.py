"""What a charge point says it can take of a charging profile, and a profile fitted to it:
pure, no ORM.

OCPP 1.6 §9.4 (Smart Charging profile) has the charge point report three limits in its
configuration: ``ChargeProfileMaxStackLevel`` (the highest stackLevel it accepts),
``ChargingScheduleAllowedChargingRateUnit`` (``Current``, ``Power`` or both) and
``MaxChargingProfilesInstalled``. A profile beyond them is Rejected by the charger; checked
before sending, it is refused with the reason instead (a raw command), or sent in the unit the
charger takes (a profile we build: W ↔ A through P = U · I · phases, rounded down so the
converted limit never allows more).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from smartcharging.composite import Electrical, RateUnit, convert_limit, floor_to_step
from smartcharging.profile_rules import Problem

MAX_STACK_LEVEL_KEY = "ChargeProfileMaxStackLevel"
ALLOWED_UNIT_KEY = "ChargingScheduleAllowedChargingRateUnit"
MAX_PROFILES_KEY = "MaxChargingProfilesInstalled"
LIMIT_KEYS = (MAX_STACK_LEVEL_KEY, ALLOWED_UNIT_KEY, MAX_PROFILES_KEY)
_UNIT_NAMES = {"current": RateUnit.AMPERE, "power": RateUnit.WATT}


@dataclass(frozen=True, slots=True)
class ChargerLimits:
    """None: not known (not reported yet, or not a valid value)."""

    allowed_units: frozenset[RateUnit] | None = None
    max_stack_level: int | None = None
    max_profiles: int | None = None


def _integer(value: str | None) -> int | None:
    try:
        number = int((value or "").strip())
    except ValueError:
        return None
    return number if number >= 0 else None


def charger_limits_parse(values: Mapping[str, str | None]) -> ChargerLimits:
    """The limits from the mirrored values (keys lower-cased, CiString50)."""
    names = (values.get(ALLOWED_UNIT_KEY.lower()) or "").split(",")
    units = frozenset(
        _UNIT_NAMES[name.strip().lower()] for name in names if name.strip().lower() in _UNIT_NAMES
    )
    return ChargerLimits(
        allowed_units=units or None,
        max_stack_level=_integer(values.get(MAX_STACK_LEVEL_KEY.lower())),
        max_profiles=_integer(values.get(MAX_PROFILES_KEY.lower())),
    )


def _converted_schedule(
    schedule: dict[str, Any], *, to_unit: RateUnit, electrical: Electrical
) -> dict[str, Any]:
    from_unit = RateUnit(schedule["chargingRateUnit"])

    def converted(limit: float, phases: int | None) -> float:
        exact = convert_limit(
            limit, from_unit=from_unit, to_unit=to_unit, number_phases=phases, electrical=electrical
        )
        return floor_to_step(exact)

    periods = [
        {**period, "limit": converted(period["limit"], period.get("numberPhases"))}
        for period in schedule["chargingSchedulePeriod"]
    ]
    result = {**schedule, "chargingRateUnit": to_unit.value, "chargingSchedulePeriod": periods}
    if schedule.get("minChargingRate") is not None:
        result["minChargingRate"] = converted(schedule["minChargingRate"], None)
    return result


def profile_fitted(
    cs_profile: dict[str, Any],
    *,
    limits: ChargerLimits,
    electrical: Electrical,
    convert: bool,
) -> tuple[dict[str, Any], list[Problem]]:
    """``cs_profile`` as the charge point can take it (``convert``: in a unit it allows), and
    what it cannot take anyway."""
    problems = []
    stack_level = cs_profile.get("stackLevel", 0)
    if limits.max_stack_level is not None and stack_level > limits.max_stack_level:
        problems.append(
            Problem(
                "stack_level",
                f"{stack_level} is above the charge point's ChargeProfileMaxStackLevel "
                f"({limits.max_stack_level})",
            )
        )
    schedule = cs_profile.get("chargingSchedule") or {}
    unit = schedule.get("chargingRateUnit")
    allowed = limits.allowed_units
    if allowed is None or unit is None or RateUnit(unit) in allowed:
        return cs_profile, problems
    target = min(allowed)  # one unit: the other one
    if not convert:
        problems.append(
            Problem(
                "charging_schedule.charging_rate_unit",
                f"the charge point takes {target.value} only "
                f"(ChargingScheduleAllowedChargingRateUnit)",
            )
        )
        return cs_profile, problems
    fitted = {
        **cs_profile,
        "chargingSchedule": _converted_schedule(schedule, to_unit=target, electrical=electrical),
    }
    return fitted, problems


def profiles_count_problem(
    *, installed: int, replaces: bool, limits: ChargerLimits
) -> Problem | None:
    """A new profile (one that replaces none) must fit in MaxChargingProfilesInstalled."""
    if limits.max_profiles is None or replaces or installed < limits.max_profiles:
        return None
    return Problem(
        "charging_profile_id",
        f"the charge point holds {installed} profiles, its MaxChargingProfilesInstalled "
        f"({limits.max_profiles}): clear one first",
    )
