"""Celery tasks of the firmware app: thin wrappers that take ids (schedules: data migrations
and :mod:`firmware.services.diagnostics_schedules`)."""

from celery import shared_task

from firmware.services.diagnostics import diagnostics_requests_advance
from firmware.services.diagnostics_schedules import diagnostics_schedule_run
from firmware.services.firmware_rollout import firmware_update_advance, firmware_updates_advance


@shared_task(name="firmware.advance_firmware_updates")
def advance_firmware_updates() -> int:
    """The beat tick of every open campaign."""
    return firmware_updates_advance()


@shared_task(name="firmware.advance_firmware_update")
def advance_firmware_update(campaign_id: int) -> None:
    firmware_update_advance(campaign_id=campaign_id)


@shared_task(name="firmware.advance_diagnostics_requests")
def advance_diagnostics_requests() -> None:
    diagnostics_requests_advance()


@shared_task(name="firmware.run_diagnostics_schedule")
def run_diagnostics_schedule(schedule_id: int) -> int:
    return len(diagnostics_schedule_run(schedule_id=schedule_id))
