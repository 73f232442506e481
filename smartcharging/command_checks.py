"""What the command dispatch refuses before sending, for the actions smart charging owns
(registered on import, from apps.ready; chargepoints.commands.payload_checks says why these
are checks and not events)."""

from typing import Any

from chargepoints.commands.payload_checks import command_payload_check
from smartcharging.profile_rules import remote_start_profile_problems, set_charging_profile_problems


@command_payload_check("SetChargingProfile")
def set_charging_profile_check(payload: dict[str, Any]) -> str | None:
    problems = set_charging_profile_problems(payload)
    return "; ".join(map(str, problems)) or None


@command_payload_check("RemoteStartTransaction")
def remote_start_profile_check(payload: dict[str, Any]) -> str | None:
    problems = remote_start_profile_problems(payload)
    return "; ".join(f"charging_profile.{problem}" for problem in problems) or None
