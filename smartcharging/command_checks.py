"""What the command dispatch refuses before sending, for the actions smart charging owns
(registered on import, from apps.ready; chargepoints.commands.payload_checks says why these
are checks and not events)."""

from typing import Any

from chargepoints.commands.payload_checks import command_charge_point_check, command_payload_check
from smartcharging.profile_rules import (
    remote_start_connector_problem,
    remote_start_profile_problems,
    set_charging_profile_problems,
)
from smartcharging.services.charger_limits import profile_for_charge_point


@command_payload_check("SetChargingProfile")
def set_charging_profile_check(payload: dict[str, Any]) -> str | None:
    problems = set_charging_profile_problems(payload)
    return "; ".join(map(str, problems)) or None


@command_payload_check("RemoteStartTransaction")
def remote_start_profile_check(payload: dict[str, Any]) -> str | None:
    problems = remote_start_profile_problems(payload)
    return "; ".join(f"charging_profile.{problem}" for problem in problems) or None


@command_payload_check("RemoteStartTransaction")
def remote_start_connector_check(payload: dict[str, Any]) -> str | None:
    # Checked here beside its charging profile: a TxProfile needs a connector to run on.
    return remote_start_connector_problem(payload)


# What the charge point it goes to can take (its mirrored limits, its installed profiles, the
# stack level its site reserves): a raw command is refused, never altered (SPEC §3.3: the
# payload reaches the charge point unchanged).


@command_charge_point_check("SetChargingProfile")
def set_charging_profile_fits(charge_point: Any, payload: dict[str, Any]) -> str | None:
    _, problems = profile_for_charge_point(
        charge_point=charge_point,
        connector_id=payload["connectorId"],
        cs_profile=payload["csChargingProfiles"],
        convert=False,
    )
    return "; ".join(map(str, problems)) or None


@command_charge_point_check("RemoteStartTransaction")
def remote_start_profile_fits(charge_point: Any, payload: dict[str, Any]) -> str | None:
    if payload.get("chargingProfile") is None:
        return None
    _, problems = profile_for_charge_point(
        charge_point=charge_point,
        connector_id=payload.get("connectorId") or 0,
        cs_profile=payload["chargingProfile"],
        convert=False,
    )
    return "; ".join(f"charging_profile.{problem}" for problem in problems) or None
