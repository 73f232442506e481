"""The firmware app's webhook events: a job's status changed, a diagnostics file is uploaded.

Called inside the transaction of the change, after the conditional update that made it, like
the emitters of ``csms.webhooks.emitters``: a tenant with no endpoint listening pays one query.
"""

from os.path import basename

from csms.webhooks.event_types import EventType
from csms.webhooks.services import event_emit, event_subscribers
from firmware.models import DiagnosticsRequest, FirmwareJob


def firmware_job_status_emit(*, tenant_id: int, previous_statuses: dict[int, str]) -> None:
    """One ``firmware.job_status_changed`` per job of ``previous_statuses`` (job id → the
    status the update moved it from), showing the job as it now is."""
    if not previous_statuses:
        return
    endpoint_ids = event_subscribers(
        tenant_id=tenant_id, type=EventType.FIRMWARE_JOB_STATUS_CHANGED
    )
    if not endpoint_ids:
        return  # before reading the jobs
    jobs = (
        FirmwareJob.objects.filter(pk__in=previous_statuses)
        .select_related("charge_point")
        .order_by("pk")
    )
    for job in jobs:
        event_emit(
            tenant_id=tenant_id,
            type=EventType.FIRMWARE_JOB_STATUS_CHANGED,
            data={
                "firmware_update_id": job.campaign_id,
                "charge_point": job.charge_point.identity,
                "status": job.status,
                "previous_status": previous_statuses[job.pk],
                "last_status": job.last_status,
                "error": job.last_error,
            },
            charge_point_id=job.charge_point_id,
            endpoint_ids=endpoint_ids,
        )


def diagnostics_uploaded_emit(*, tenant_id: int, request_id: int) -> None:
    """``diagnostics.uploaded``: the file reached our receiver (``received``), or the charge
    point reported it uploaded to an external location (``uploaded``)."""
    endpoint_ids = event_subscribers(tenant_id=tenant_id, type=EventType.DIAGNOSTICS_UPLOADED)
    if not endpoint_ids:
        return  # before reading the request
    request = DiagnosticsRequest.objects.select_related("charge_point").get(pk=request_id)
    event_emit(
        tenant_id=tenant_id,
        type=EventType.DIAGNOSTICS_UPLOADED,
        data={
            "diagnostics_request_id": request.pk,
            "charge_point": request.charge_point.identity,
            "status": request.status,
            # The name the charge point gave (GetDiagnostics.conf), else the stored file's.
            "file_name": request.file_name or basename(request.file.name or ""),
            "file_size": request.file_size,
            # Empty: this platform's receiver holds the file (as in the REST API).
            "location": request.location,
        },
        charge_point_id=request.charge_point_id,
        endpoint_ids=endpoint_ids,
    )
