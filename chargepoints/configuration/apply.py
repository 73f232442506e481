"""Applying configuration baselines, chained through the outbox like the local-list sync.

A run sends GetConfiguration (all keys, which also refreshes the mirror). Its answer (the
``CommandCompleted`` event, inside the completing transaction) is compared with the charge
point's baselines (``drift``) and a ChangeConfiguration is queued for each key that differs and
is due: once per key, desired value and boot; Rejected/NotSupported not again until the desired
value or the firmware changes; RebootRequired recorded and shown, never followed by a Reset.
Each ChangeConfiguration answer (or failure) is recorded in the key's apply state.

Triggers: an accepted BootNotification, the beat schedule
(``chargepoints.apply_configuration_baselines``), a baseline change
(``baselines``), staff in the admin.
"""

import logging
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from chargepoints.commands.dispatch import CommandRejectedError, command_dispatch
from chargepoints.configuration.baselines import configuration_desired
from chargepoints.configuration.catalogue import configuration_value_problem
from chargepoints.configuration.drift import (
    ApplyStatus,
    Attempt,
    KeyDrift,
    Reported,
    configuration_change_due,
    configuration_drift,
)
from chargepoints.models import (
    ChargePoint,
    Command,
    CommandStatus,
    ConfigurationApplyState,
    ConfigurationBaseline,
    RegistrationStatus,
)
from csms.events import CommandFailed, CommandFinished
from csms.statements import rows_select, table

logger = logging.getLogger(__name__)

BASELINE_JOB = "configuration-baseline"
# A run's commands are worth sending only for a while; the next trigger starts afresh.
COMMAND_TTL_SECONDS = getattr(settings, "OCPP_CONFIGURATION_COMMAND_TTL_SECONDS", 600)
# After a boot the charge point reports its connectors first; after a reconnect storm the
# fleet's reads are spread over a minute instead of all at once.
BOOT_DELAY_SECONDS = getattr(settings, "OCPP_CONFIGURATION_BOOT_DELAY_SECONDS", 20)
BOOT_SPREAD_SECONDS = getattr(settings, "OCPP_CONFIGURATION_BOOT_SPREAD_SECONDS", 60)
# CALLERROR codes meaning the charge point cannot change configuration keys at all.
_UNSUPPORTED_ERRORS = frozenset({"NotSupported", "NotImplemented"})
_UNFINISHED = (CommandStatus.QUEUED, CommandStatus.SENT)


# --- Starting a run -----------------------------------------------------------------------------


def configuration_baseline_apply(*, charge_point: ChargePoint) -> Command | None:
    """Read the configuration to apply the charge point's baselines; None when no baseline
    applies or a read of ours is already under way."""
    if not configuration_desired(charge_point=charge_point):
        return None
    with transaction.atomic():
        under_way = Command.objects.filter(
            charge_point_id=charge_point.pk,
            action="GetConfiguration",
            requested_by_job=BASELINE_JOB,
            status__in=_UNFINISHED,
        ).exists()
        if under_way:
            return None
        return command_dispatch(
            charge_point=charge_point,
            action="GetConfiguration",
            payload={},
            requested_by_job=BASELINE_JOB,
            ttl_seconds=COMMAND_TTL_SECONDS,
        )


def configuration_baseline_apply_all(*, tenant_id: int | None = None) -> int:
    """Start a run on every connected, accepted charge point of tenants with an enabled
    baseline. Returns how many runs started."""
    tenants = ConfigurationBaseline.objects.filter(enabled=True).values("tenant_id")
    if tenant_id is not None:
        tenants = tenants.filter(tenant_id=tenant_id)
    charge_points = ChargePoint.objects.filter(
        connected=True, registration_status=RegistrationStatus.ACCEPTED, tenant_id__in=tenants
    )
    started = 0
    for charge_point in charge_points.only("pk", "tenant_id", "vendor", "model").iterator(
        chunk_size=500
    ):
        if configuration_baseline_apply(charge_point=charge_point):
            started += 1
    return started


# --- The steps: what the answers mean (chargepoints.receivers) ------------------------------------


def _unanswered_status(command: Command | CommandFinished | None) -> ApplyStatus:
    """What a change that brought no answer to record counts as."""
    if command is None or command.status == CommandStatus.EXPIRED:
        return ApplyStatus.NOT_DELIVERED
    if command.status in (CommandStatus.FAILED, CommandStatus.TIMEOUT):
        if command.error_code in _UNSUPPORTED_ERRORS:
            return ApplyStatus.NOT_SUPPORTED
        return ApplyStatus.FAILED
    return ApplyStatus.PENDING


def apply_state_status(state: ConfigurationApplyState) -> ApplyStatus:
    """The state's status; a pending one whose command's end went unrecorded (a receiver that
    failed, a command deleted) reads as what became of its command."""
    if state.status != ApplyStatus.PENDING:
        return ApplyStatus(state.status)
    return _unanswered_status(state.command)


def apply_state_attempt(state: ConfigurationApplyState) -> Attempt:
    return Attempt(
        value=state.value,
        status=apply_state_status(state),
        boot=state.boot_at,
        firmware_version=state.firmware_version,
    )


def _reported(response: dict[str, Any]) -> dict[str, Reported]:
    reported = {
        entry["key"]: Reported(entry.get("value"), entry.get("readonly"))
        for entry in response.get("configurationKey") or ()
    }
    for key in response.get("unknownKey") or ():
        reported[key] = Reported(None, unknown=True)
    return reported


def configuration_read_for_baseline(
    *, charge_point_id: int, response: dict[str, Any] | None
) -> None:
    """Our read (a GetConfiguration of BASELINE_JOB) came back: queue a ChangeConfiguration for
    each key that differs and is due. A read someone asked for by hand only feeds the mirror."""
    charge_point = ChargePoint.objects.filter(pk=charge_point_id).first()
    if charge_point is None:
        return  # deleted meanwhile
    desired = {key: d.value for key, d in configuration_desired(charge_point=charge_point).items()}
    reported = _reported(response or {})
    states = {
        state.key.lower(): state
        for state in ConfigurationApplyState.objects.select_for_update(of=("self",))
        .select_related("command")
        .filter(charge_point=charge_point)
    }
    limits = {key.lower(): entry.value for key, entry in reported.items() if not entry.unknown}
    for key, drift in configuration_drift(desired=desired, reported=reported).items():
        state = states.get(key.lower())
        due = configuration_change_due(
            drift=drift,
            attempt=apply_state_attempt(state) if state else None,
            boot=charge_point.last_boot_at,
            firmware_version=charge_point.firmware_version,
        )
        if due:
            _change(charge_point, drift, state, limits)


def _change(
    charge_point: ChargePoint,
    drift: KeyDrift,
    state: ConfigurationApplyState | None,
    limits: dict[str, str | None],
) -> None:
    if state is None:
        state = ConfigurationApplyState(charge_point=charge_point, key=drift.key)
    state.key, state.value = drift.key, drift.desired
    state.boot_at, state.firmware_version = charge_point.last_boot_at, charge_point.firmware_version
    state.attempted_at, state.answered_at = timezone.now(), None
    state.command, state.error = None, ""
    # What the charge point just reported (a list's MaxLength) may rule the value out.
    problem = configuration_value_problem(drift.key, drift.desired, reported=limits)
    if problem is None:
        try:
            state.command = command_dispatch(
                charge_point=charge_point,
                action="ChangeConfiguration",
                payload={"key": drift.key, "value": drift.desired},
                requested_by_job=BASELINE_JOB,
                ttl_seconds=COMMAND_TTL_SECONDS,
            )
        except CommandRejectedError as exc:
            problem = exc.message
    state.status = ApplyStatus.PENDING if problem is None else ApplyStatus.INVALID
    state.error = (problem or "")[:255]
    state.save()


def configuration_change_answered(
    *,
    charge_point_id: int,
    command_id: int,
    response: dict[str, Any] | None,
    completed_at: datetime | None,
) -> None:
    """Record the answer to one of our changes (RebootRequired included: shown, not acted on)."""
    status = (response or {}).get("status", "")
    ConfigurationApplyState.objects.filter(
        charge_point_id=charge_point_id, command_id=command_id
    ).update(status=status, answered_at=completed_at or timezone.now())


def configuration_change_failed(*, command: CommandFailed) -> None:
    """One of our changes ended without an answer (CALLERROR, time-out, expiry): record it."""
    error = f"{command.error_code}: {command.error_description}".strip(": ")
    ConfigurationApplyState.objects.filter(
        charge_point_id=command.charge_point_id,
        command_id=command.command_id,
        status=ApplyStatus.PENDING,
    ).update(
        status=_unanswered_status(command), error=error[:255], answered_at=command.completed_at
    )


# --- Triggers -----------------------------------------------------------------------------------


def configuration_after_boot(
    *, tenant_id: int, charge_point_id: int, registration_status: str
) -> None:
    """After a BootNotification: an accepted charge point gets its baselines applied shortly
    after (a new boot, maybe new firmware: changes become due again)."""
    if registration_status != RegistrationStatus.ACCEPTED:
        return
    # One indexed query on the boot path rather than a broker message and a task per boot of
    # every charge point of tenants that have no baseline (reconnect storms); prepared.
    if not rows_select(
        f"SELECT 1 FROM {table(ConfigurationBaseline)} WHERE tenant_id = %s AND enabled LIMIT 1",  # noqa: S608
        [tenant_id],
    ):
        return
    transaction.on_commit(lambda: _enqueue_boot_apply(charge_point_id), robust=True)


def _enqueue_boot_apply(charge_point_id: int) -> None:
    from chargepoints.tasks import apply_configuration_baseline  # the tasks import this module

    countdown = BOOT_DELAY_SECONDS + charge_point_id % max(BOOT_SPREAD_SECONDS, 1)
    apply_configuration_baseline.apply_async((charge_point_id,), countdown=countdown)
