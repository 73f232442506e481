"""How the chargepoints app reacts to events (csms.events; imported by apps.ready): each
receiver unpacks an event and calls one service.

A command's answer or failure is recorded by the part of the app that sent the command
(configuration mirror and baselines, local-list sync, reservations); those receivers are
isolated: what one derives from an answer may fail without losing the answer itself.
"""

from typing import Any

from chargepoints.authorization.local_list_sync import (
    local_list_command_lost,
    local_list_update_answered,
    local_list_version_answered,
)
from chargepoints.authorization.local_list_triggers import local_list_after_boot
from chargepoints.authorization.revocations import (
    revocations_confirm_cleared,
    revocations_confirm_listed,
)
from chargepoints.configuration.apply import (
    BASELINE_JOB,
    configuration_after_boot,
    configuration_change_answered,
    configuration_change_failed,
    configuration_read_for_baseline,
)
from chargepoints.configuration.mirror import configuration_mirror_change, configuration_mirror_read
from chargepoints.models import CommandStatus
from chargepoints.reservations.services import (
    reservation_answered,
    reservation_cancel_answered,
    reservation_use,
)
from chargepoints.security.certificates import (
    certificate_command_logged,
    certificate_signed_answered,
    installed_certificates_mirror,
)
from chargepoints.security.profile_upgrades import (
    SECURITY_PROFILE_KEY,
    security_profile_answered,
)
from chargepoints.security.rotation import (
    AUTHORIZATION_KEY,
    rotation_answered,
    rotation_command_failed,
)
from csms.events import (
    ChargePointBooted,
    CommandCompleted,
    CommandFailed,
    TransactionStarted,
    subscriber,
)

# --- Boots and transactions ---------------------------------------------------------------------


@subscriber(ChargePointBooted)
def local_list_on_boot(event: ChargePointBooted) -> None:
    local_list_after_boot(
        tenant_id=event.tenant_id,
        charge_point_id=event.charge_point_id,
        registration_status=event.registration_status,
    )


@subscriber(ChargePointBooted)
def configuration_on_boot(event: ChargePointBooted) -> None:
    configuration_after_boot(
        tenant_id=event.tenant_id,
        charge_point_id=event.charge_point_id,
        registration_status=event.registration_status,
    )


@subscriber(TransactionStarted)
def reservation_used(event: TransactionStarted) -> None:
    if event.reservation_id is not None:
        reservation_use(
            tenant_id=event.tenant_id,
            charge_point_id=event.charge_point_id,
            reservation_id=event.reservation_id,
            transaction_id=event.transaction_id,
            id_tag=event.id_tag,
            started_at=event.started_at,
        )


# --- Configuration: the mirror, then the baselines ----------------------------------------------


@subscriber(CommandCompleted, action="GetConfiguration", isolated=True)
def configuration_read(event: CommandCompleted) -> None:
    configuration_mirror_read(charge_point_id=event.charge_point_id, response=event.response)


@subscriber(CommandCompleted, action="ChangeConfiguration", isolated=True)
def configuration_changed(event: CommandCompleted) -> None:
    configuration_mirror_change(
        charge_point_id=event.charge_point_id,
        command_id=event.command_id,
        payload=event.payload,
        response=event.response,
    )


@subscriber(
    CommandCompleted, action="GetConfiguration", requested_by_job=BASELINE_JOB, isolated=True
)
def baseline_read(event: CommandCompleted) -> None:
    configuration_read_for_baseline(charge_point_id=event.charge_point_id, response=event.response)


@subscriber(CommandCompleted, action="ChangeConfiguration", isolated=True)
def baseline_change_answered(event: CommandCompleted) -> None:
    configuration_change_answered(
        charge_point_id=event.charge_point_id,
        command_id=event.command_id,
        response=event.response,
        completed_at=event.completed_at,
    )


@subscriber(CommandFailed, action="ChangeConfiguration", isolated=True)
def baseline_change_failed(event: CommandFailed) -> None:
    configuration_change_failed(command=event)


# --- Security: AuthorizationKey rotations and profile raises (chargepoints.security) ----------


@subscriber(CommandCompleted, action="ChangeConfiguration", isolated=True)
def security_configuration_answered(event: CommandCompleted) -> None:
    key, status = event.payload.get("key"), (event.response or {}).get("status", "")
    if key == AUTHORIZATION_KEY:
        rotation_answered(command_id=event.command_id, status=status)
    elif key == SECURITY_PROFILE_KEY:
        security_profile_answered(
            charge_point_id=event.charge_point_id,
            profile=_profile_value(event.payload),
            status=status,
        )


@subscriber(CommandFailed, action="ChangeConfiguration", isolated=True)
def security_configuration_lost(event: CommandFailed) -> None:
    key = event.payload.get("key")
    if key == AUTHORIZATION_KEY:
        rotation_command_failed(command_id=event.command_id, status=event.status)
    elif key == SECURITY_PROFILE_KEY and event.status == CommandStatus.EXPIRED:
        # Never sent: nothing will connect with it. A lost answer keeps the raise pending.
        security_profile_answered(
            charge_point_id=event.charge_point_id,
            profile=_profile_value(event.payload),
            status="NotSupported",
        )


@subscriber(CommandCompleted, action="CertificateSigned", isolated=True)
def certificate_signed(event: CommandCompleted) -> None:
    certificate_signed_answered(
        command_id=event.command_id, status=(event.response or {}).get("status", "")
    )


@subscriber(CommandCompleted, action="GetInstalledCertificateIds", isolated=True)
def installed_certificates(event: CommandCompleted) -> None:
    installed_certificates_mirror(
        charge_point_id=event.charge_point_id,
        certificate_type=event.payload.get("certificateType", ""),
        response=event.response,
    )


@subscriber(CommandCompleted, action="InstallCertificate", isolated=True)
@subscriber(CommandCompleted, action="DeleteCertificate", isolated=True)
def certificate_changed(event: CommandCompleted) -> None:
    certificate_command_logged(
        tenant_id=event.tenant_id,
        charge_point_id=event.charge_point_id,
        identity=event.identity,
        action=event.action,
        status=(event.response or {}).get("status", ""),
    )


def _profile_value(payload: dict[str, Any]) -> int:
    try:
        return int(payload.get("value", -1))
    except ValueError:
        return -1


# --- Local-list synchronisation -----------------------------------------------------------------


@subscriber(CommandCompleted, action="GetLocalListVersion", isolated=True)
def local_list_version(event: CommandCompleted) -> None:
    local_list_version_answered(
        charge_point_id=event.charge_point_id, command_id=event.command_id, response=event.response
    )


@subscriber(CommandCompleted, action="SendLocalList", isolated=True)
def local_list_sent(event: CommandCompleted) -> None:
    local_list_update_answered(
        charge_point_id=event.charge_point_id,
        command_id=event.command_id,
        payload=event.payload,
        response=event.response,
    )


@subscriber(CommandCompleted, action="SendLocalList", isolated=True)
def revocation_listed(event: CommandCompleted) -> None:
    revocations_confirm_listed(
        charge_point_id=event.charge_point_id, payload=event.payload, response=event.response
    )


@subscriber(CommandCompleted, action="ClearCache", isolated=True)
def revocation_cleared(event: CommandCompleted) -> None:
    revocations_confirm_cleared(
        charge_point_id=event.charge_point_id,
        command_id=event.command_id,
        response=event.response,
    )


@subscriber(CommandFailed, action="GetLocalListVersion", isolated=True)
@subscriber(CommandFailed, action="SendLocalList", isolated=True)
def local_list_lost(event: CommandFailed) -> None:
    local_list_command_lost(command=event)


# --- Reservations -------------------------------------------------------------------------------


@subscriber(CommandCompleted, action="ReserveNow", isolated=True)
def reserve_now_answered(event: CommandCompleted) -> None:
    reservation_answered(command_id=event.command_id, response=event.response)


@subscriber(CommandCompleted, action="CancelReservation", isolated=True)
def cancel_reservation_answered(event: CommandCompleted) -> None:
    reservation_cancel_answered(
        charge_point_id=event.charge_point_id, payload=event.payload, response=event.response
    )
