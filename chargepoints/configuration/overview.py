"""A charge point's configuration as the API and the admin show it: the mirror, each key's
catalogue declaration, what its baselines want, the drift and the last change they sent."""

from dataclasses import dataclass

from chargepoints.configuration.apply import apply_state_attempt, apply_state_status
from chargepoints.configuration.baselines import DesiredValue, configuration_desired
from chargepoints.configuration.catalogue import ConfigKeySpec, catalogue_key
from chargepoints.configuration.drift import (
    ApplyStatus,
    DriftStatus,
    Reported,
    configuration_drift,
    drift_with_attempt,
)
from chargepoints.configuration.mirror import configuration_mirror_by_key
from chargepoints.models import ChargePoint, ConfigurationApplyState, ConfigurationKey


@dataclass(frozen=True)
class ConfigurationRow:
    key: str
    mirror: ConfigurationKey | None  # None: never reported by the charge point
    spec: ConfigKeySpec | None  # None: vendor-specific
    desired: DesiredValue | None  # None: no baseline sets it
    drift: DriftStatus | None
    apply_state: ConfigurationApplyState | None
    apply_status: ApplyStatus | None


def configuration_overview(*, charge_point: ChargePoint) -> list[ConfigurationRow]:
    """One row per key the charge point reported or a baseline sets, sorted by key."""
    mirror = configuration_mirror_by_key(charge_point_id=charge_point.pk)
    desired = configuration_desired(charge_point=charge_point)
    states = {
        state.key.lower(): state
        for state in ConfigurationApplyState.objects.filter(
            charge_point_id=charge_point.pk
        ).select_related("command")
    }
    drift = configuration_drift(
        desired={key: wanted.value for key, wanted in desired.items()},
        reported={
            row.key: Reported(row.value, row.readonly, row.unknown) for row in mirror.values()
        },
    )
    keys = {row.key.lower(): row.key for row in mirror.values()}
    keys.update({key.lower(): key for key in desired if key.lower() not in keys})
    desired_by_lower = {key.lower(): (key, wanted) for key, wanted in desired.items()}
    rows = []
    for lower, key in sorted(keys.items()):
        desired_key, wanted = desired_by_lower.get(lower, (None, None))
        state = states.get(lower)
        status = None
        if desired_key is not None:
            status = drift_with_attempt(
                drift[desired_key],
                apply_state_attempt(state) if state else None,
                boot=charge_point.last_boot_at,
            )
        rows.append(
            ConfigurationRow(
                key=key,
                mirror=mirror.get(lower),
                spec=catalogue_key(key),
                desired=wanted,
                drift=status,
                apply_state=state,
                apply_status=apply_state_status(state) if state else None,
            )
        )
    return rows
