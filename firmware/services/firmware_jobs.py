"""Firmware jobs: one charge point's UpdateFirmware, from dispatch to what the charge point
reports (FirmwareStatusNotification, the firmware version of its next boot, the command's
answer or its loss).

Job status moves by conditional updates (``WHERE status = …``) so that a beat tick and an OCPP
frame handled at the same moment never both move one job.
"""

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from chargepoints.commands.dispatch import command_dispatch
from chargepoints.commands.outbox import command_withdraw
from chargepoints.models import Command, CommandStatus
from csms.events import CommandFailed, CommandFinished
from csms.statements import rows_select, table
from firmware.models import (
    FirmwareJob,
    FirmwareJobStatus,
    FirmwareUpdate,
    FirmwareUpdateStatus,
)
from firmware.rollout import ocpp_datetime
from firmware.services.domain_events import firmware_jobs_status_publish
from firmware.services.firmware_updates import REQUESTED_BY

logger = logging.getLogger(__name__)


# FirmwareStatus (OCPP 1.6 §7.25) → the job status it means.
PROGRESS = {
    "Downloading": FirmwareJobStatus.DOWNLOADING,
    "Downloaded": FirmwareJobStatus.DOWNLOADED,
    "Installing": FirmwareJobStatus.INSTALLING,
    "Installed": FirmwareJobStatus.INSTALLED,
}
FAILURE = {
    "DownloadFailed": FirmwareJobStatus.DOWNLOAD_FAILED,
    "InstallationFailed": FirmwareJobStatus.INSTALLATION_FAILED,
}
# Jobs a status notification or a boot may concern: in flight, or failed and waiting for a
# retry (a charger that retries by itself, UpdateFirmware.retries, reports again).
LISTENING = FirmwareJob.IN_FLIGHT | {FirmwareJobStatus.RETRY_PENDING}
# A boot showing the target version settles these, even a job that had timed out.
VERIFIABLE = LISTENING | {FirmwareJobStatus.TIMED_OUT}
UNDELIVERED: dict[str, str] = {
    CommandStatus.EXPIRED: "UpdateFirmware was not delivered: the charge point stayed offline",
    CommandStatus.TIMEOUT: "the charge point did not answer UpdateFirmware",
}


def update_firmware_payload(
    *, job: FirmwareJob, campaign: FirmwareUpdate, now: datetime
) -> tuple[str, dict[str, Any]]:
    """UpdateFirmware.req (OCPP 1.6 §6.51), or SignedUpdateFirmware.req (whitepaper §4.1) for
    a signed campaign: the job's id is its requestId, which its status notifications name."""
    retrieve = ocpp_datetime(max(campaign.retrieve_date or now, now))
    retries = {"retries": campaign.retries, "retryInterval": campaign.retry_interval}
    retries = {key: value for key, value in retries.items() if value is not None}
    if campaign.signed:
        return "SignedUpdateFirmware", {
            "requestId": job.pk,
            "firmware": {
                "location": campaign.location,
                "retrieveDateTime": retrieve,
                "signingCertificate": campaign.signing_certificate,
                "signature": campaign.signature,
            },
            **retries,
        }
    return "UpdateFirmware", {"location": campaign.location, "retrieveDate": retrieve, **retries}


def firmware_job_dispatch(*, job: FirmwareJob, campaign: FirmwareUpdate, now: datetime) -> None:
    """Queue UpdateFirmware (OCPP 1.6 §5.19) for the job's charge point; an offline charge point
    gets it if it comes back before the campaign window closes."""
    action, payload = update_firmware_payload(job=job, campaign=campaign, now=now)
    ttl = max(1, int((campaign.expires_at - now).total_seconds()))
    command = command_dispatch(
        charge_point=job.charge_point,
        action=action,
        payload=payload,
        requested_by_job=f"{REQUESTED_BY}:{campaign.pk}",
        ttl_seconds=ttl,
    )
    dispatched = FirmwareJob.objects.filter(pk=job.pk, status=job.status).update(
        status=FirmwareJobStatus.DISPATCHED,
        command=command,
        attempts=job.attempts + 1,
        dispatched_at=now,
        last_heard_at=None,
        triggered_at=None,
        next_attempt_at=None,
        last_status="",
    )
    if dispatched:
        firmware_jobs_status_publish(
            tenant_id=campaign.tenant_id, previous_statuses={job.pk: job.status}
        )


def firmware_job_fail(
    *, job: FirmwareJob, campaign: FirmwareUpdate, status: str, error: str, now: datetime
) -> bool:
    """A failed attempt: sent again after ``attempt_interval`` while attempts and the window
    last (and the campaign is not cancelled), else the job ends with ``status``. False if
    the job had moved on meanwhile."""
    retry_at = now + timedelta(seconds=campaign.attempt_interval)
    can_retry = (
        job.attempts < campaign.max_attempts
        and campaign.status != FirmwareUpdateStatus.CANCELLED
        and retry_at < campaign.expires_at
    )
    if can_retry:
        changes: dict[str, Any] = {
            "status": FirmwareJobStatus.RETRY_PENDING,
            "next_attempt_at": retry_at,
            "last_error": f"{status}: {error}"[:255],
        }
    else:
        changes = {"status": status, "finished_at": now, "last_error": error[:255]}
    failed = FirmwareJob.objects.filter(pk=job.pk, status=job.status).update(**changes)
    if failed and changes["status"] != job.status:
        firmware_jobs_status_publish(
            tenant_id=campaign.tenant_id, previous_statuses={job.pk: job.status}
        )
    return bool(failed)


def update_firmware_error(command: Command | CommandFinished | None) -> str | None:
    """Why the attempt behind this UpdateFirmware failed; None while it may still succeed."""
    if command is None:
        return "the UpdateFirmware command is gone"
    if command.status == CommandStatus.FAILED:
        return f"UpdateFirmware failed: {command.error_code} {command.error_description}"
    return UNDELIVERED.get(command.status)


def _listening_job(
    charge_point_id: int, statuses: frozenset[str], *, job_id: int | None = None
) -> FirmwareJob | None:
    # Every BootNotification asks and almost no charge point has a job: a narrow probe first
    # (a reconnect storm spent a seventh of its CPU building the locked read with its campaign),
    # a prepared statement (csms.statements) where no job is named: every boot's.
    jobs = FirmwareJob.objects.filter(charge_point_id=charge_point_id, status__in=statuses)
    if job_id is not None:
        jobs = jobs.filter(pk=job_id)
        if not jobs.exists():
            return None
    elif not _has_job_in(charge_point_id, statuses):
        return None
    return (
        jobs.select_for_update()
        .select_related("campaign")
        .order_by("-dispatched_at", "-pk")
        .first()
    )


def _has_job_in(charge_point_id: int, statuses: frozenset[str]) -> bool:
    ordered = sorted(statuses)  # the same statement text for the same set
    placeholders = ", ".join(["%s"] * len(ordered))
    return bool(
        rows_select(
            f"SELECT 1 FROM {table(FirmwareJob)} WHERE charge_point_id = %s "  # noqa: S608
            f"AND status IN ({placeholders}) LIMIT 1",
            [charge_point_id, *ordered],
        )
    )


def firmware_status_record(
    *,
    charge_point_id: int,
    status: str,
    now: datetime,
    progress: Mapping[str, str] = PROGRESS,
    failure: Mapping[str, str] = FAILURE,
    job_id: int | None = None,
) -> None:
    """FirmwareStatusNotification (OCPP 1.6 §4.5) moves the charge point's current job (or,
    for SignedFirmwareStatusNotification, the job its requestId names, by its own statuses)."""
    job = _listening_job(charge_point_id, LISTENING, job_id=job_id)
    if job is None:
        return
    heard = {"last_status": status, "last_heard_at": now}
    if status in progress:
        moved = FirmwareJob.objects.filter(pk=job.pk, status=job.status).update(
            status=progress[status], next_attempt_at=None, **heard
        )
        if moved and progress[status] != job.status:
            firmware_jobs_status_publish(
                tenant_id=job.campaign.tenant_id, previous_statuses={job.pk: job.status}
            )
    elif status in failure and job.status != FirmwareJobStatus.RETRY_PENDING:
        FirmwareJob.objects.filter(pk=job.pk).update(**heard)
        firmware_job_fail(
            job=job,
            campaign=job.campaign,
            status=failure[status],
            error=f"the charge point reported {status}",
            now=now,
        )
    else:  # Idle (an answer to TriggerMessage), or a repeated failure
        FirmwareJob.objects.filter(pk=job.pk).update(**heard)


# SignedFirmwareStatusNotification's FirmwareStatusEnumType (whitepaper §4.2) → the job status.
SIGNED_PROGRESS = {
    "DownloadScheduled": FirmwareJobStatus.DOWNLOADING,
    "Downloading": FirmwareJobStatus.DOWNLOADING,
    "DownloadPaused": FirmwareJobStatus.DOWNLOADING,
    "Downloaded": FirmwareJobStatus.DOWNLOADED,
    "SignatureVerified": FirmwareJobStatus.SIGNATURE_VERIFIED,
    "InstallScheduled": FirmwareJobStatus.INSTALLING,
    "Installing": FirmwareJobStatus.INSTALLING,
    "InstallRebooting": FirmwareJobStatus.INSTALLING,
    "Installed": FirmwareJobStatus.INSTALLED,
}
SIGNED_FAILURE = {
    "DownloadFailed": FirmwareJobStatus.DOWNLOAD_FAILED,
    "InvalidSignature": FirmwareJobStatus.INVALID_SIGNATURE,
    "InstallVerificationFailed": FirmwareJobStatus.INSTALLATION_FAILED,
    "InstallationFailed": FirmwareJobStatus.INSTALLATION_FAILED,
}
# SignedUpdateFirmware.conf statuses that mean the charger will not install it.
SIGNED_REFUSALS = {
    "Rejected": FirmwareJobStatus.FAILED,
    "InvalidCertificate": FirmwareJobStatus.INVALID_CERTIFICATE,
    "RevokedCertificate": FirmwareJobStatus.INVALID_CERTIFICATE,
}


def signed_firmware_status_record(
    *, charge_point_id: int, status: str, request_id: int | None, now: datetime
) -> None:
    """SignedFirmwareStatusNotification drives its job exactly like the unsigned path."""
    firmware_status_record(
        charge_point_id=charge_point_id,
        status=status,
        now=now,
        progress=SIGNED_PROGRESS,
        failure=SIGNED_FAILURE,
        job_id=request_id,
    )


def signed_firmware_update_answered(
    *, tenant_id: int, command_id: int, status: str, completed_at: datetime | None
) -> None:
    """SignedUpdateFirmware.conf: Accepted (or AcceptedCanceled: an earlier update given up)
    moves the job on; a refused signing certificate or a rejection fails the attempt."""
    if status not in SIGNED_REFUSALS:
        firmware_update_accepted(
            tenant_id=tenant_id, command_id=command_id, completed_at=completed_at
        )
        return
    job = (
        FirmwareJob.objects.select_for_update(of=("self",), skip_locked=True)
        .select_related("campaign")
        .filter(command_id=command_id, status=FirmwareJobStatus.DISPATCHED)
        .first()
    )
    if job is not None:
        firmware_job_fail(
            job=job,
            campaign=job.campaign,
            status=SIGNED_REFUSALS[status],
            error=f"SignedUpdateFirmware answered {status}",
            now=completed_at or timezone.now(),
        )


def firmware_boot_verify(*, charge_point_id: int, firmware_version: str, now: datetime) -> None:
    """A BootNotification showing the campaign's version verifies the job; one after the
    charge point said Installed that shows another version is a failure."""
    job = _listening_job(charge_point_id, VERIFIABLE)
    if job is None:
        return
    campaign = job.campaign
    if firmware_version == campaign.firmware_version:
        verified = FirmwareJob.objects.filter(pk=job.pk, status=job.status).update(
            status=FirmwareJobStatus.VERIFIED,
            finished_at=now,
            last_heard_at=now,
            next_attempt_at=None,
            last_error="",
        )
        if verified:
            firmware_jobs_status_publish(
                tenant_id=campaign.tenant_id, previous_statuses={job.pk: job.status}
            )
        if verified and job.status == FirmwareJobStatus.DISPATCHED and job.command_id:
            command_withdraw(command_id=job.command_id, reason="already runs the version")
    elif job.status == FirmwareJobStatus.INSTALLED:
        firmware_job_fail(
            job=job,
            campaign=campaign,
            status=FirmwareJobStatus.VERSION_MISMATCH,
            error=f"booted with {firmware_version!r}, expected {campaign.firmware_version!r}",
            now=now,
        )
    elif job.status in FirmwareJob.IN_FLIGHT:
        FirmwareJob.objects.filter(pk=job.pk).update(last_heard_at=now)


def firmware_update_accepted(
    *, tenant_id: int, command_id: int, completed_at: datetime | None
) -> None:
    """UpdateFirmware.conf (no fields): the charge point took the job."""
    dispatched = FirmwareJob.objects.filter(
        command_id=command_id, status=FirmwareJobStatus.DISPATCHED
    )
    ids = list(dispatched.select_for_update().order_by("pk").values_list("pk", flat=True))
    if ids and dispatched.filter(pk__in=ids).update(
        status=FirmwareJobStatus.ACCEPTED, last_heard_at=completed_at or timezone.now()
    ):
        firmware_jobs_status_publish(
            tenant_id=tenant_id,
            previous_statuses=dict.fromkeys(ids, FirmwareJobStatus.DISPATCHED),
        )


def firmware_update_undelivered(*, command: CommandFailed) -> None:
    """UpdateFirmware refused (CALLERROR), unanswered or never delivered: the attempt fails
    now, to be retried if attempts remain (the beat tick settles it too, should this not run)."""
    job = (
        # A job locked by a boot of its charge point (which may be withdrawing this very
        # command) is left to that boot, or else to the tick: waiting for it could deadlock.
        FirmwareJob.objects.select_for_update(of=("self",), skip_locked=True)
        .select_related("campaign")
        .filter(command_id=command.command_id, status=FirmwareJobStatus.DISPATCHED)
        .order_by("pk")
        .first()
    )
    if job is None:
        return
    if (
        command.status == CommandStatus.EXPIRED
        and job.campaign.status == FirmwareUpdateStatus.CANCELLED
    ):
        return  # withdrawn by firmware_update_cancel, which cancels the job itself
    firmware_job_fail(
        job=job,
        campaign=job.campaign,
        status=FirmwareJobStatus.FAILED,
        error=update_firmware_error(command) or f"UpdateFirmware {command.status}",
        now=command.completed_at or timezone.now(),
    )


# Settings staff may still change on a running campaign (batches are assigned at creation).
