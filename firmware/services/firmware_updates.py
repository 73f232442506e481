"""Firmware campaigns: create, pause, resume, cancel and tune them (the jobs' own life, what
charge points report about them, is ``firmware.services.firmware_jobs``).

Job status moves by conditional updates (``WHERE status = …``) so that a beat tick and an OCPP
frame handled at the same moment never both move one job.
"""

import logging
from typing import Any
from urllib.parse import urlsplit

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from chargepoints.commands.outbox import command_withdraw
from chargepoints.models import ChargePoint, CommandStatus
from csms.errors import ConflictError, DomainError
from csms.tenancy.models import ApiToken, Tenant
from firmware.models import (
    FirmwareJob,
    FirmwareJobStatus,
    FirmwareUpdate,
    FirmwareUpdateStatus,
)
from firmware.rollout import batch_numbers
from firmware.selectors import charge_points_targeted, unknown_identities
from firmware.services.domain_events import firmware_jobs_status_publish
from firmware.services.signed_firmware import signed_firmware_problems

logger = logging.getLogger(__name__)

DOWNLOAD_SCHEMES = frozenset({"http", "https", "ftp", "ftps", "sftp"})
REQUESTED_BY = "firmware-update"


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
    created_by_user: User | None = None,
    **options: Any,
) -> FirmwareUpdate:
    """A campaign and one job per targeted charge point (batched in identity order). A charge
    point already on ``firmware_version`` gets a ``skipped`` job."""
    problem = download_location_problem(location)
    if problem:
        raise DomainError(f"location {problem}.", code="invalid_location")
    if options.get("signed"):
        # Whitepaper §4.1: SignedUpdateFirmware carries both, and the charger checks them.
        problems = signed_firmware_problems(
            signing_certificate=options.get("signing_certificate", ""),
            signature=options.get("signature", ""),
        )
        if problems:
            raise DomainError(
                " ".join(f"{field}: {why}" for field, why in problems.items()),
                code="invalid_signed_firmware",
            )
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
