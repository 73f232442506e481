"""Helpers shared by the smart-charging tests."""

from typing import Any

from chargepoints.commands.dispatch import command_dispatch
from chargepoints.models import ChargePoint, Command


def set_profile(
    cp: ChargePoint,
    *,
    profile_id: int,
    connector_id: int = 1,
    purpose: str = "TxDefaultProfile",
    stack_level: int = 0,
    limit: float = 16.0,
    **extra: Any,
) -> Command:
    return command_dispatch(
        charge_point=cp,
        action="SetChargingProfile",
        payload={
            "connectorId": connector_id,
            "csChargingProfiles": {
                "chargingProfileId": profile_id,
                "stackLevel": stack_level,
                "chargingProfilePurpose": purpose,
                "chargingProfileKind": "Absolute",
                "chargingSchedule": {
                    "chargingRateUnit": "A",
                    "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit}],
                },
                **extra,
            },
        },
    )
