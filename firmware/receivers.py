"""How the firmware app reacts to events (csms.events; imported by apps.ready): a boot may show
a campaign's new firmware, and the answers to its commands move its jobs."""

from csms.events import ChargePointBooted, CommandCompleted, CommandFailed, subscriber
from firmware.services.diagnostics import (
    diagnostics_accepted,
    diagnostics_undelivered,
    log_accepted,
)
from firmware.services.firmware_jobs import (
    firmware_boot_verify,
    firmware_update_accepted,
    firmware_update_undelivered,
    signed_firmware_update_answered,
)


@subscriber(ChargePointBooted)
def verify_firmware_on_boot(event: ChargePointBooted) -> None:
    """The new firmware shows in the next boot."""
    firmware_boot_verify(
        charge_point_id=event.charge_point_id,
        firmware_version=event.firmware_version,
        now=event.booted_at,
    )


@subscriber(CommandCompleted, action="UpdateFirmware", isolated=True)
def update_firmware_accepted(event: CommandCompleted) -> None:
    firmware_update_accepted(
        tenant_id=event.tenant_id, command_id=event.command_id, completed_at=event.completed_at
    )


@subscriber(CommandCompleted, action="SignedUpdateFirmware", isolated=True)
def signed_update_firmware_answered(event: CommandCompleted) -> None:
    signed_firmware_update_answered(
        tenant_id=event.tenant_id,
        command_id=event.command_id,
        status=(event.response or {}).get("status", ""),
        completed_at=event.completed_at,
    )


@subscriber(CommandFailed, action="UpdateFirmware", isolated=True)
@subscriber(CommandFailed, action="SignedUpdateFirmware", isolated=True)
def update_firmware_undelivered(event: CommandFailed) -> None:
    firmware_update_undelivered(command=event)


@subscriber(CommandCompleted, action="GetDiagnostics", isolated=True)
def get_diagnostics_accepted(event: CommandCompleted) -> None:
    diagnostics_accepted(
        command_id=event.command_id, response=event.response, completed_at=event.completed_at
    )


@subscriber(CommandFailed, action="GetDiagnostics", isolated=True)
def get_diagnostics_undelivered(event: CommandFailed) -> None:
    diagnostics_undelivered(command=event)


@subscriber(CommandCompleted, action="GetLog", isolated=True)
def get_log_answered(event: CommandCompleted) -> None:
    log_accepted(
        command_id=event.command_id, response=event.response, completed_at=event.completed_at
    )


@subscriber(CommandFailed, action="GetLog", isolated=True)
def get_log_undelivered(event: CommandFailed) -> None:
    diagnostics_undelivered(command=event)
