"""Firmware campaigns: create, pause/resume/cancel, and what charge points tell us about them.

Job status moves by conditional updates (``WHERE status = …``) so that a beat tick and an OCPP
frame handled at the same moment never both move one job.
"""

import logging
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from chargepoints.commands.dispatch import command_dispatch
from chargepoints.commands.outbox import command_withdraw
from chargepoints.models import ChargePoint, Command, CommandStatus
from csms.errors import ConflictError, DomainError
from csms.events import CommandFailed, CommandFinished
from csms.tenancy.models import ApiToken, Tenant
from firmware.models import (
    FirmwareJob,
    FirmwareJobStatus,
    FirmwareUpdate,
    FirmwareUpdateStatus,
)
from firmware.rollout import batch_numbers, ocpp_datetime
from firmware.selectors import charge_points_targeted, unknown_identities
from firmware.services.domain_events import firmware_jobs_status_publish

logger = logging.getLogger(__name__)

DOWNLOAD_SCHEMES = frozenset({"http", "https", "ftp", "ftps", "sftp"})
REQUESTED_BY = "firmware-update"

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
UNDELIVERED = {
    CommandStatus.EXPIRED: "UpdateFirmware was not delivered: the charge point stayed offline",
    CommandStatus.TIMEOUT: "the charge point did not answer UpdateFirmware",
}


def download_location_problem(location: str) -> str | None:
    parts = urlsplit(location)
    if parts.scheme not in DOWNLOAD_SCHEMES or not parts.netloc:
        return f"must be an absolute {'/'.join(sorted(DOWNLOAD_SCHEMES))} URL"
    return None


# --- Campaigns ----------------------------------------------------------------------------------


def firmware_update_create(
    *,
    tenant: Tenant,
    location: str,
    firmware_version: str,
    charge_point_identities: list[str] | None = None,
    filter_vendor: str = "",
    filter_model: str = "",
    filter_firmware_version: str = "",
    created_by_token: ApiToken | None = None,
    created_by_user: AbstractBaseUser | None = None,
    **options: Any,
) -> FirmwareUpdate:
    """A campaign and one job per targeted charge point (batched in identity order). A charge
    point already on ``firmware_version`` gets a ``skipped`` job."""
    problem = download_location_problem(location)
    if problem:
        raise DomainError(f"location {problem}.", code="invalid_location")
    if charge_point_identities is None and not (
        filter_vendor or filter_model or filter_firmware_version
    ):
        raise DomainError(
            "Name the charge points, or a filter (vendor, model, firmware version).",
            code="no_targets",
        )
    if charge_point_identities is not None:
        unknown = unknown_identities(tenant=tenant, identities=charge_point_identities)
        if unknown:
            raise DomainError(f"Unknown charge points: {', '.join(unknown)}.", code="unknown")
    targets = list(
        charge_points_targeted(
            tenant=tenant,
            identities=charge_point_identities,
            vendor=filter_vendor,
            model=filter_model,
            firmware_version=filter_firmware_version,
        ).only("pk", "firmware_version")
    )
    if not targets:
        raise DomainError("No charge point matches these targets.", code="no_targets")
    with transaction.atomic():
        campaign = FirmwareUpdate(
            tenant=tenant,
            location=location,
            firmware_version=firmware_version,
            filter_vendor=filter_vendor,
            filter_model=filter_model,
            filter_firmware_version=filter_firmware_version,
            created_by_token=created_by_token,
            created_by_user=created_by_user,
            **options,
        )
        if campaign.expires_at <= campaign.starts_at:
            raise DomainError("expires_at must be after starts_at.", code="invalid_window")
        campaign.save()
        _create_jobs(campaign=campaign, targets=targets)
        campaign_id = campaign.pk
        transaction.on_commit(lambda: _advance_soon(campaign_id))
    return campaign


def _create_jobs(*, campaign: FirmwareUpdate, targets: list[ChargePoint]) -> None:
    now = timezone.now()
    current = [cp for cp in targets if cp.firmware_version == campaign.firmware_version]
    outdated = [cp for cp in targets if cp.firmware_version != campaign.firmware_version]
    jobs = [
        FirmwareJob(campaign=campaign, charge_point=cp, batch=batch)
        for cp, batch in zip(
            outdated, batch_numbers(len(outdated), batch_size=campaign.batch_size), strict=True
        )
    ]
    jobs += [
        FirmwareJob(
            campaign=campaign,
            charge_point=cp,
            batch=0,
            status=FirmwareJobStatus.SKIPPED,
            last_error="Already runs the target version.",
            finished_at=now,
        )
        for cp in current
    ]
    FirmwareJob.objects.bulk_create(jobs)


def _advance_soon(campaign_id: int) -> None:
    # The first batch goes out now rather than at the next beat tick; should the broker be
    # unreachable, that tick still does it (the campaign row is the truth).
    from firmware.tasks import advance_firmware_update

    try:
        advance_firmware_update.delay(campaign_id)
    except Exception:
        logger.warning(
            "could not enqueue campaign %s; the beat tick will", campaign_id, exc_info=True
        )


def _locked(campaign: FirmwareUpdate) -> FirmwareUpdate:
    return FirmwareUpdate.objects.select_for_update().get(pk=campaign.pk)


def firmware_update_pause(*, campaign: FirmwareUpdate) -> FirmwareUpdate:
    """No new UpdateFirmware is sent; jobs already sent are followed as before."""
    with transaction.atomic():
        campaign = _locked(campaign)
        if campaign.status != FirmwareUpdateStatus.RUNNING:
            raise ConflictError(f"A {campaign.status} campaign cannot be paused.")
        campaign.status = FirmwareUpdateStatus.PAUSED
        campaign.save(update_fields=["status"])
    return campaign


def firmware_update_resume(*, campaign: FirmwareUpdate) -> FirmwareUpdate:
    """Paused or stopped (failure rate) → running; a stopped one goes on with its next batch."""
    with transaction.atomic():
        campaign = _locked(campaign)
        if campaign.status not in (FirmwareUpdateStatus.PAUSED, FirmwareUpdateStatus.STOPPED):
            raise ConflictError(f"A {campaign.status} campaign cannot be resumed.")
        campaign.status = FirmwareUpdateStatus.RUNNING
        campaign.save(update_fields=["status"])
        campaign_id = campaign.pk
        transaction.on_commit(lambda: _advance_soon(campaign_id))
    return campaign


def firmware_update_cancel(*, campaign: FirmwareUpdate) -> FirmwareUpdate:
    """Nothing more is sent; UpdateFirmware still queued for an offline charge point is
    withdrawn. A charge point that already accepted cannot be stopped (OCPP 1.6 has no
    cancel for UpdateFirmware): its job is followed to its end."""
    now = timezone.now()
    with transaction.atomic():
        campaign = _locked(campaign)
        if campaign.status in (FirmwareUpdateStatus.CANCELLED, FirmwareUpdateStatus.COMPLETED):
            raise ConflictError(f"A {campaign.status} campaign cannot be cancelled.")
        # First: the withdrawals' CommandFailed receivers then leave these jobs to be cancelled
        # below.
        campaign.status = FirmwareUpdateStatus.CANCELLED
        campaign.save(update_fields=["status"])
        queued = campaign.jobs.filter(
            status=FirmwareJobStatus.DISPATCHED, command__status=CommandStatus.QUEUED
        ).values_list("pk", "command_id")
        cancelled: dict[int, str] = {}
        for job_id, command_id in list(queued):
            if not command_withdraw(command_id=command_id, reason="firmware campaign cancelled"):
                continue  # sent meanwhile: followed to its end
            if FirmwareJob.objects.filter(pk=job_id, status=FirmwareJobStatus.DISPATCHED).update(
                status=FirmwareJobStatus.CANCELLED, finished_at=now
            ):
                cancelled[job_id] = FirmwareJobStatus.DISPATCHED
        # Locked first, so the ids are exactly the jobs the update moves (an OCPP frame may
        # be moving a job waiting for its retry at this very moment).
        not_sent = [FirmwareJobStatus.PENDING, FirmwareJobStatus.RETRY_PENDING]
        waiting = dict(
            campaign.jobs.select_for_update()
            .filter(status__in=not_sent)
            .order_by("pk")
            .values_list("pk", "status")
        )
        FirmwareJob.objects.filter(pk__in=waiting, status__in=not_sent).update(
            status=FirmwareJobStatus.CANCELLED, finished_at=now, next_attempt_at=None
        )
        firmware_jobs_status_publish(
            tenant_id=campaign.tenant_id, previous_statuses=cancelled | waiting
        )
        if not campaign.jobs.filter(status__in=FirmwareJob.UNFINISHED).exists():
            campaign.finished_at = now
            campaign.save(update_fields=["finished_at"])
    return campaign


# --- Jobs ---------------------------------------------------------------------------------------


def firmware_job_dispatch(*, job: FirmwareJob, campaign: FirmwareUpdate, now: datetime) -> None:
    """Queue UpdateFirmware (OCPP 1.6 §5.19) for the job's charge point; an offline charge point
    gets it if it comes back before the campaign window closes."""
    payload: dict[str, Any] = {
        "location": campaign.location,
        "retrieveDate": ocpp_datetime(max(campaign.retrieve_date or now, now)),
    }
    if campaign.retries is not None:
        payload["retries"] = campaign.retries
    if campaign.retry_interval is not None:
        payload["retryInterval"] = campaign.retry_interval
    ttl = max(1, int((campaign.expires_at - now).total_seconds()))
    command = command_dispatch(
        charge_point=job.charge_point,
        action="UpdateFirmware",
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


def _listening_job(charge_point_id: int, statuses: frozenset[str]) -> FirmwareJob | None:
    # Every BootNotification asks and almost no charge point has a job: a narrow probe first
    # (a reconnect storm spent a seventh of its CPU building the locked read with its campaign).
    if not FirmwareJob.objects.filter(
        charge_point_id=charge_point_id, status__in=statuses
    ).exists():
        return None
    return (
        FirmwareJob.objects.select_for_update()
        .select_related("campaign")
        .filter(charge_point_id=charge_point_id, status__in=statuses)
        .order_by("-dispatched_at", "-pk")
        .first()
    )


def firmware_status_record(*, charge_point_id: int, status: str, now: datetime) -> None:
    """FirmwareStatusNotification (OCPP 1.6 §4.5) moves the charge point's current job."""
    job = _listening_job(charge_point_id, LISTENING)
    if job is None:
        return
    heard = {"last_status": status, "last_heard_at": now}
    if status in PROGRESS:
        moved = FirmwareJob.objects.filter(pk=job.pk, status=job.status).update(
            status=PROGRESS[status], next_attempt_at=None, **heard
        )
        if moved and PROGRESS[status] != job.status:
            firmware_jobs_status_publish(
                tenant_id=job.campaign.tenant_id, previous_statuses={job.pk: job.status}
            )
    elif status in FAILURE and job.status != FirmwareJobStatus.RETRY_PENDING:
        FirmwareJob.objects.filter(pk=job.pk).update(**heard)
        firmware_job_fail(
            job=job,
            campaign=job.campaign,
            status=FAILURE[status],
            error=f"the charge point reported {status}",
            now=now,
        )
    else:  # Idle (an answer to TriggerMessage), or a repeated failure
        FirmwareJob.objects.filter(pk=job.pk).update(**heard)


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
TUNABLE = frozenset(
    {
        "name",
        "max_in_flight",
        "batch_pause",
        "failure_threshold",
        "expires_at",
        "quiet_after",
        "status_timeout",
        "max_attempts",
        "attempt_interval",
    }
)


def firmware_update_tune(*, campaign: FirmwareUpdate, **changes: Any) -> FirmwareUpdate:
    """Change rollout controls of an existing campaign."""
    refused = set(changes) - TUNABLE
    if refused:
        raise DomainError(f"Cannot change {', '.join(sorted(refused))} after creation.")
    with transaction.atomic():
        campaign = _locked(campaign)
        for field, value in changes.items():
            setattr(campaign, field, value)
        if campaign.expires_at <= campaign.starts_at:
            raise DomainError("expires_at must be after starts_at.", code="invalid_window")
        if changes:
            campaign.save(update_fields=list(changes))
    return campaign
