"""What the firmware app publishes (csms.events): a job's status changed, a diagnostics file was
uploaded.

Called inside the transaction of the change, after the conditional update that made it. Each
event costs reading the rows behind it, so the rows are read (and the event published) only
when someone listens to it for the tenant: a tenant without webhooks pays nothing more.
"""

from os.path import basename

from csms.events import DiagnosticsUploaded, FirmwareStatusChanged, listened, publish
from firmware.models import DiagnosticsRequest, FirmwareJob


def firmware_jobs_status_publish(*, tenant_id: int, previous_statuses: dict[int, str]) -> None:
    """One ``FirmwareStatusChanged`` per job of ``previous_statuses`` (job id → the status the
    update moved it from), showing the job as it now is."""
    if not previous_statuses or not listened(FirmwareStatusChanged, tenant_id=tenant_id):
        return  # before reading the jobs
    jobs = (
        FirmwareJob.objects.filter(pk__in=previous_statuses)
        .select_related("charge_point")
        .order_by("pk")
    )
    for job in jobs:
        publish(
            FirmwareStatusChanged(
                tenant_id=tenant_id,
                charge_point_id=job.charge_point_id,
                identity=job.charge_point.identity,
                firmware_update_id=job.campaign_id,
                job_id=job.pk,
                status=job.status,
                previous_status=previous_statuses[job.pk],
                last_status=job.last_status,
                error=job.last_error,
            )
        )


def diagnostics_uploaded_publish(*, tenant_id: int, request_id: int) -> None:
    """``DiagnosticsUploaded``: the file reached our receiver (``received``), or the charge
    point reported it uploaded to an external location (``uploaded``)."""
    if not listened(DiagnosticsUploaded, tenant_id=tenant_id):
        return  # before reading the request
    request = DiagnosticsRequest.objects.select_related("charge_point").get(pk=request_id)
    publish(
        DiagnosticsUploaded(
            tenant_id=tenant_id,
            charge_point_id=request.charge_point_id,
            identity=request.charge_point.identity,
            diagnostics_request_id=request.pk,
            status=request.status,
            # The name the charge point gave (GetDiagnostics.conf), else the stored file's.
            file_name=request.file_name or basename(request.file.name or ""),
            file_size=request.file_size,
            location=request.location,
        )
    )
