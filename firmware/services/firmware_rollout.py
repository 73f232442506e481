"""One beat tick of a firmware campaign: settle what was not delivered, watch the quiet and the
silent, close the window, advance batches (or stop on the failure rate), send what is due.

An UpdateFirmware that fails, times out or expires fails its job at once (its ``CommandFailed``
receiver, firmware.receivers); the tick settles it too, should that not have been recorded."""

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from chargepoints.commands.dispatch import command_dispatch
from firmware.models import FirmwareJob, FirmwareJobStatus, FirmwareUpdate, FirmwareUpdateStatus
from firmware.rollout import failure_rate_exceeded, in_flight_room, quiet_since, silence_verdict
from firmware.selectors import firmware_update_outcomes
from firmware.services.domain_events import firmware_jobs_status_publish
from firmware.services.firmware_jobs import (
    firmware_job_dispatch,
    firmware_job_fail,
    update_firmware_error,
)
from firmware.services.firmware_updates import REQUESTED_BY


def firmware_updates_advance(*, now: datetime | None = None) -> int:
    """Advance every campaign that still has something to follow; how many were looked at."""
    ids = list(
        FirmwareUpdate.objects.filter(finished_at__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for campaign_id in ids:
        firmware_update_advance(campaign_id=campaign_id, now=now)
    return len(ids)


def firmware_update_advance(*, campaign_id: int, now: datetime | None = None) -> None:
    now = now or timezone.now()
    with transaction.atomic():
        campaign = FirmwareUpdate.objects.select_for_update().filter(pk=campaign_id).first()
        if campaign is None or campaign.finished_at is not None:
            return
        _settle_undelivered(campaign, now)
        _watch_in_flight(campaign, now)
        if now >= campaign.expires_at:
            _close_window(campaign, now)
        elif (
            campaign.status == FirmwareUpdateStatus.RUNNING
            and now >= campaign.starts_at
            and _advance_batches(campaign, now)
        ):
            _dispatch_due(campaign, now)
        _finish_if_done(campaign, now)


def _jobs(campaign: FirmwareUpdate, *statuses: str) -> list[FirmwareJob]:
    return list(
        campaign.jobs.filter(status__in=statuses)
        .select_related("charge_point", "command")
        .order_by("batch", "charge_point__identity")
    )


def _settle_undelivered(campaign: FirmwareUpdate, now: datetime) -> None:
    for job in _jobs(campaign, FirmwareJobStatus.DISPATCHED):
        error = update_firmware_error(job.command)
        if error is None:
            continue
        firmware_job_fail(
            job=job, campaign=campaign, status=FirmwareJobStatus.FAILED, error=error, now=now
        )


def _watch_in_flight(campaign: FirmwareUpdate, now: datetime) -> None:
    """Ask quiet charge points where they are (TriggerMessage, OCPP 1.6 §5.17); end the jobs
    of silent ones ``timed_out``. A job still waiting for its command to be delivered is
    neither: the charge point has not been told anything yet."""
    watched = FirmwareJob.IN_FLIGHT - {FirmwareJobStatus.DISPATCHED}
    for job in _jobs(campaign, *watched):
        since = quiet_since(
            last_heard_at=job.last_heard_at,
            dispatched_at=job.dispatched_at,
            not_before=campaign.retrieve_date,
        )
        verdict = silence_verdict(
            now=now,
            since=since,
            triggered_at=job.triggered_at,
            quiet_after=campaign.quiet_after,
            timeout=campaign.status_timeout,
        )
        if verdict == "timeout":
            firmware_job_fail(
                job=job,
                campaign=campaign,
                status=FirmwareJobStatus.TIMED_OUT,
                error=f"nothing heard for {campaign.status_timeout} s",
                now=now,
            )
        elif verdict == "trigger":
            # After Installed the news we wait for is the reboot's BootNotification.
            requested = (
                "BootNotification"
                if job.status == FirmwareJobStatus.INSTALLED
                else "FirmwareStatusNotification"
            )
            # A signed update reports through SignedFirmwareStatusNotification, which only
            # the security extension's trigger asks for (its "FirmwareStatusNotification").
            trigger = (
                "ExtendedTriggerMessage"
                if campaign.signed and requested != "BootNotification"
                else "TriggerMessage"
            )
            command_dispatch(
                charge_point=job.charge_point,
                action=trigger,
                payload={"requestedMessage": requested},
                requested_by_job=f"{REQUESTED_BY}:{campaign.pk}",
                ttl_seconds=campaign.quiet_after,
            )
            FirmwareJob.objects.filter(pk=job.pk).update(triggered_at=now)


def _close_window(campaign: FirmwareUpdate, now: datetime) -> None:
    # Pending jobs move only under the campaign's lock, which this tick holds.
    pending = list(
        campaign.jobs.filter(status=FirmwareJobStatus.PENDING)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    campaign.jobs.filter(pk__in=pending, status=FirmwareJobStatus.PENDING).update(
        status=FirmwareJobStatus.SKIPPED,
        finished_at=now,
        last_error="The campaign window closed before it was sent.",
    )
    moved: dict[int, str] = dict.fromkeys(pending, FirmwareJobStatus.PENDING)
    for job in _jobs(campaign, FirmwareJobStatus.RETRY_PENDING):
        if FirmwareJob.objects.filter(pk=job.pk, status=job.status).update(
            status=FirmwareJobStatus.FAILED,
            finished_at=now,
            next_attempt_at=None,
            last_error=f"{job.last_error} (window closed before a retry)"[:255],
        ):
            moved[job.pk] = job.status
    firmware_jobs_status_publish(tenant_id=campaign.tenant_id, previous_statuses=moved)


def _advance_batches(campaign: FirmwareUpdate, now: datetime) -> bool:
    """Move to the next batch when the current one is done (after the pause); stop instead if
    the failure rate passed the threshold. False when the campaign stopped."""
    if campaign.jobs.filter(
        batch=campaign.current_batch, status__in=FirmwareJob.UNFINISHED
    ).exists():
        return True
    last_batch = campaign.jobs.aggregate(last=Max("batch"))["last"] or 0
    if campaign.current_batch >= last_batch:
        return True
    if campaign.batch_finished_at is None:
        # The batch just finished: judged once, so a resumed campaign goes on.
        campaign.batch_finished_at = now
        failed, succeeded = firmware_update_outcomes(campaign_id=campaign.pk)
        if failure_rate_exceeded(
            failed=failed, succeeded=succeeded, threshold_percent=campaign.failure_threshold
        ):
            campaign.status = FirmwareUpdateStatus.STOPPED
            campaign.save(update_fields=["batch_finished_at", "status"])
            return False
        campaign.save(update_fields=["batch_finished_at"])
    if now >= campaign.batch_finished_at + timedelta(seconds=campaign.batch_pause):
        campaign.current_batch += 1
        campaign.batch_finished_at = None
        campaign.save(update_fields=["current_batch", "batch_finished_at"])
    return True


def _dispatch_due(campaign: FirmwareUpdate, now: datetime) -> None:
    """Retries that are due, then the current batch's pending jobs, up to ``max_in_flight``.
    A charge point busy with another campaign's update waits (its notifications carry no
    campaign, so two at once could not be told apart)."""
    in_flight = campaign.jobs.filter(status__in=FirmwareJob.IN_FLIGHT).count()
    room = in_flight_room(limit=campaign.in_flight_limit, in_flight=in_flight)
    if not room:
        return
    retries = [
        job
        for job in _jobs(campaign, FirmwareJobStatus.RETRY_PENDING)
        if job.next_attempt_at is not None and job.next_attempt_at <= now
    ]
    pending = [
        job
        for job in _jobs(campaign, FirmwareJobStatus.PENDING)
        if job.batch <= campaign.current_batch
    ]
    candidates = retries + pending
    busy = set(
        FirmwareJob.objects.filter(
            charge_point_id__in=[job.charge_point_id for job in candidates],
            status__in=FirmwareJob.IN_FLIGHT,
        )
        .exclude(campaign=campaign)
        .values_list("charge_point_id", flat=True)
    )
    for job in candidates:
        if room == 0:
            break
        if job.charge_point_id in busy:
            continue
        firmware_job_dispatch(job=job, campaign=campaign, now=now)
        room -= 1


def _finish_if_done(campaign: FirmwareUpdate, now: datetime) -> None:
    if campaign.jobs.filter(status__in=FirmwareJob.UNFINISHED).exists():
        return
    if campaign.status in (FirmwareUpdateStatus.RUNNING, FirmwareUpdateStatus.PAUSED):
        campaign.status = FirmwareUpdateStatus.COMPLETED
    campaign.finished_at = now
    campaign.save(update_fields=["status", "finished_at"])
