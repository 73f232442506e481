"""Diagnostics requests: GetDiagnostics (OCPP 1.6 §5.8) sent, followed and retried, and the file
taken in by the upload receiver.

A GetDiagnostics that fails, times out or expires fails its request at once (its
``CommandFailed`` receiver, firmware.receivers); the beat tick settles it too, should that not
have been recorded."""

import secrets
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.text import get_valid_filename

from chargepoints.commands.dispatch import command_dispatch
from chargepoints.models import ChargePoint, Command, CommandStatus
from csms.errors import DomainError
from csms.events import CommandFailed, CommandFinished
from csms.tenancy.models import ApiToken, Tenant
from firmware.models import DiagnosticsRequest, DiagnosticsRequestStatus
from firmware.models.diagnostics import diagnostics_file_path
from firmware.rollout import ocpp_datetime, quiet_since, silence_verdict
from firmware.services.domain_events import diagnostics_uploaded_publish

UPLOAD_SCHEMES = frozenset({"ftp", "ftps", "sftp", "http", "https"})
REQUESTED_BY = "diagnostics"
DEFAULT_FILE_NAME = "diagnostics.bin"
UNDELIVERED = frozenset({CommandStatus.FAILED, CommandStatus.TIMEOUT, CommandStatus.EXPIRED})


class UploadRefusedError(Exception):
    """The token is unknown, or its request already has its file (answered 404)."""


def upload_location_problem(location: str) -> str | None:
    parts = urlsplit(location)
    if parts.scheme not in UPLOAD_SCHEMES or not parts.netloc:
        return f"must be an absolute {'/'.join(sorted(UPLOAD_SCHEMES))} URL"
    return None


def diagnostics_upload_url(*, token: str) -> str:
    """The directory URI sent as GetDiagnostics.location (charge points add a file name)."""
    path = reverse("diagnostics-upload", kwargs={"token": token})
    return str(settings.CSMS_PUBLIC_URL).rstrip("/") + path


def diagnostics_request_create(
    *,
    tenant: Tenant,
    charge_point: ChargePoint,
    start_time: datetime | None = None,
    stop_time: datetime | None = None,
    location: str = "",
    requested_by_token: ApiToken | None = None,
    requested_by_user: User | None = None,
    **options: Any,
) -> DiagnosticsRequest:
    """Create the request and queue GetDiagnostics at once. Without ``location`` the charge
    point uploads to this platform's receiver, at a URL only this request knows."""
    if charge_point.tenant_id != tenant.pk:
        raise DomainError("Unknown charge point.", code="unknown")
    if start_time and stop_time and stop_time <= start_time:
        raise DomainError("stop_time must be after start_time.", code="invalid_window")
    if location:
        problem = upload_location_problem(location)
        if problem:
            raise DomainError(f"location {problem}.", code="invalid_location")
    with transaction.atomic():
        request = DiagnosticsRequest.objects.create(
            tenant=tenant,
            charge_point=charge_point,
            start_time=start_time,
            stop_time=stop_time,
            location=location,
            upload_token=None if location else secrets.token_urlsafe(32),
            requested_by_token=requested_by_token,
            requested_by_user=requested_by_user,
            **options,
        )
        diagnostics_request_dispatch(request=request, now=timezone.now())
    request.refresh_from_db()
    return request


def diagnostics_request_dispatch(*, request: DiagnosticsRequest, now: datetime) -> None:
    command = command_dispatch(
        charge_point=request.charge_point,
        action=request.action,
        payload=_request_payload(request),
        requested_by_job=f"{REQUESTED_BY}:{request.pk}",
        ttl_seconds=settings.DIAGNOSTICS_TIMEOUT_SECONDS,
    )
    DiagnosticsRequest.objects.filter(pk=request.pk, status=request.status).update(
        status=DiagnosticsRequestStatus.DISPATCHED,
        command=command,
        attempts=request.attempts + 1,
        dispatched_at=now,
        last_heard_at=None,
        triggered_at=None,
        next_attempt_at=None,
    )


def _request_payload(request: DiagnosticsRequest) -> dict[str, Any]:
    """GetDiagnostics.req (OCPP 1.6 §6.27), or GetLog.req (whitepaper §5.1) for a log type: the
    same window and upload location, the request's id as requestId."""
    location = request.location or diagnostics_upload_url(token=request.upload_token or "")
    start = request.start_time and ocpp_datetime(request.start_time)
    stop = request.stop_time and ocpp_datetime(request.stop_time)
    retries = {"retries": request.retries, "retryInterval": request.retry_interval}
    if request.log_type:
        log = {"remoteLocation": location, "oldestTimestamp": start, "latestTimestamp": stop}
        payload: dict[str, Any] = {
            "logType": request.log_type,
            "requestId": request.pk,
            "log": {k: v for k, v in log.items() if v is not None},
        }
        return payload | {k: v for k, v in retries.items() if v is not None}
    optional = retries | {"startTime": start, "stopTime": stop}
    return {"location": location} | {k: v for k, v in optional.items() if v is not None}


def diagnostics_request_fail(
    *, request: DiagnosticsRequest, status: str, error: str, now: datetime
) -> None:
    """A failed attempt: sent again after ``attempt_interval`` while attempts last."""
    if (
        request.attempts < request.max_attempts
        and request.status != DiagnosticsRequestStatus.CANCELLED
    ):
        changes: dict[str, Any] = {
            "status": DiagnosticsRequestStatus.RETRY_PENDING,
            "next_attempt_at": now + timedelta(seconds=request.attempt_interval),
            "last_error": f"{status}: {error}"[:255],
        }
    else:
        changes = {"status": status, "finished_at": now, "last_error": error[:255]}
    DiagnosticsRequest.objects.filter(pk=request.pk, status=request.status).update(**changes)


# --- What the charge point says -----------------------------------------------------------------


def diagnostics_accepted(
    *, command_id: int, response: dict[str, Any] | None, completed_at: datetime | None
) -> None:
    """GetDiagnostics.conf: a fileName means there is something to upload (OCPP 1.6 §6.29)."""
    file_name = (response or {}).get("fileName") or ""
    now = completed_at or timezone.now()
    requests = DiagnosticsRequest.objects.filter(command_id=command_id)
    requests.filter(file_name="").update(file_name=file_name)
    waiting = requests.filter(status=DiagnosticsRequestStatus.DISPATCHED)
    if file_name:
        waiting.update(status=DiagnosticsRequestStatus.ACCEPTED, last_heard_at=now)
    else:
        waiting.update(status=DiagnosticsRequestStatus.NO_FILE, last_heard_at=now, finished_at=now)


def log_accepted(
    *, command_id: int, response: dict[str, Any] | None, completed_at: datetime | None
) -> None:
    """GetLog.conf: Accepted (or AcceptedCanceled, an earlier upload given up for this one)
    with the file's name; Rejected fails the attempt."""
    response = response or {}
    if response.get("status") in ("Accepted", "AcceptedCanceled"):
        now = completed_at or timezone.now()
        requests = DiagnosticsRequest.objects.filter(command_id=command_id)
        requests.filter(file_name="").update(file_name=response.get("filename") or "")
        requests.filter(status=DiagnosticsRequestStatus.DISPATCHED).update(
            status=DiagnosticsRequestStatus.ACCEPTED, last_heard_at=now
        )
        return
    request = (
        DiagnosticsRequest.objects.select_for_update(of=("self",))
        .filter(command_id=command_id, status=DiagnosticsRequestStatus.DISPATCHED)
        .first()
    )
    if request is not None:
        diagnostics_request_fail(
            request=request,
            status=DiagnosticsRequestStatus.FAILED,
            error=f"GetLog answered {response.get('status')}",
            now=completed_at or timezone.now(),
        )


# LogStatusNotification's statuses (whitepaper §5.2 UploadLogStatusEnumType) in the terms of
# DiagnosticsStatusNotification's, which drive the request.
LOG_STATUS_AS_DIAGNOSTICS = {
    "Uploading": "Uploading",
    "Uploaded": "Uploaded",
    "UploadFailure": "UploadFailed",
    "BadMessage": "UploadFailed",
    "NotSupportedOperation": "UploadFailed",
    "PermissionDenied": "UploadFailed",
    "Idle": "Idle",
}


def log_status_record(
    *, charge_point_id: int, status: str, request_id: int | None, now: datetime
) -> None:
    """LogStatusNotification moves the GetLog request it names (requestId), exactly as a
    DiagnosticsStatusNotification moves a GetDiagnostics one."""
    diagnostics_status_record(
        charge_point_id=charge_point_id,
        status=LOG_STATUS_AS_DIAGNOSTICS.get(status, "Idle"),
        now=now,
        request_id=request_id,
        reported=status,
    )


def get_diagnostics_error(command: Command | CommandFinished | None) -> str | None:
    """Why the attempt behind this GetDiagnostics (or GetLog) failed; None while it may still
    succeed."""
    if command is None:
        return "the GetDiagnostics command is gone"
    if command.status in UNDELIVERED:
        why = f"{command.error_code} {command.error_description}".strip()
        return f"{command.action} {command.status}: {why}".strip()
    return None


def diagnostics_undelivered(*, command: CommandFailed) -> None:
    """GetDiagnostics refused (CALLERROR), unanswered or never delivered: the attempt fails
    now, to be sent again if attempts remain."""
    request = (
        DiagnosticsRequest.objects.select_for_update(of=("self",))
        .filter(command_id=command.command_id, status=DiagnosticsRequestStatus.DISPATCHED)
        .order_by("pk")
        .first()
    )
    if request is not None:
        diagnostics_request_fail(
            request=request,
            status=DiagnosticsRequestStatus.FAILED,
            error=get_diagnostics_error(command) or f"{command.action} {command.status}",
            now=command.completed_at or timezone.now(),
        )


def diagnostics_status_record(
    *,
    charge_point_id: int,
    status: str,
    now: datetime,
    request_id: int | None = None,
    reported: str | None = None,
) -> None:
    """DiagnosticsStatusNotification (OCPP 1.6 §4.4) moves the charge point's open request
    (the notification names none: the most recently sent one; LogStatusNotification names its
    ``request_id``, and ``reported`` is its own status word)."""
    open_requests = (
        DiagnosticsRequest.objects.select_for_update()
        .filter(charge_point_id=charge_point_id, finished_at__isnull=True)
        .exclude(status=DiagnosticsRequestStatus.PENDING)
    )
    if request_id is not None:
        open_requests = open_requests.filter(pk=request_id)
    request = open_requests.order_by("-dispatched_at", "-pk").first()
    if request is None:
        return
    rows = DiagnosticsRequest.objects.filter(pk=request.pk, status=request.status)
    heard: dict[str, Any] = {"last_status": reported or status, "last_heard_at": now}
    if status == "Uploading":
        rows.update(status=DiagnosticsRequestStatus.UPLOADING, next_attempt_at=None, **heard)
    elif status == "Uploaded":
        # With our receiver the request ends when the file is here, not on the charger's word.
        done = {} if request.uses_upload_receiver else {"finished_at": now}
        uploaded = rows.update(
            status=DiagnosticsRequestStatus.UPLOADED, next_attempt_at=None, **heard, **done
        )
        if uploaded and not request.uses_upload_receiver:
            # Our receiver's file is announced when it arrives (diagnostics_file_claim).
            diagnostics_uploaded_publish(tenant_id=request.tenant_id, request_id=request.pk)
    elif status == "UploadFailed" and request.status != DiagnosticsRequestStatus.RETRY_PENDING:
        rows.update(**heard)
        diagnostics_request_fail(
            request=request,
            status=DiagnosticsRequestStatus.UPLOAD_FAILED,
            error=f"the charge point reported {reported or 'UploadFailed'}",
            now=now,
        )
    else:  # Idle (an answer to TriggerMessage), or a repeated failure
        rows.update(**heard)


# --- The upload receiver ------------------------------------------------------------------------


def diagnostics_upload_target(*, token: str) -> DiagnosticsRequest:
    """The request an upload to ``token`` belongs to; refused if unknown or already used."""
    request = (
        DiagnosticsRequest.objects.filter(upload_token=token, file="")
        .exclude(status=DiagnosticsRequestStatus.CANCELLED)
        .first()
    )
    if request is None:
        raise UploadRefusedError(token)
    return request


def diagnostics_file_save(
    *, request: DiagnosticsRequest, content: "File[bytes]", file_name: str
) -> str:
    """Store the file through the storage API (plain I/O: no transaction, no ORM); its name.
    The name comes from the upload, else GetDiagnostics.conf's fileName."""
    name = get_valid_filename(file_name.rsplit("/", 1)[-1]) if file_name else ""
    name = name or (get_valid_filename(request.file_name) if request.file_name else "")
    return default_storage.save(diagnostics_file_path(request, name or DEFAULT_FILE_NAME), content)


def diagnostics_file_claim(*, request: DiagnosticsRequest, stored: str, size: int) -> None:
    """The stored file becomes the request's: it ends ``received``. The loser of two
    simultaneous uploads has its copy deleted and is refused."""
    now = timezone.now()
    with transaction.atomic():
        claimed = (
            DiagnosticsRequest.objects.filter(pk=request.pk, file="")
            .exclude(status=DiagnosticsRequestStatus.CANCELLED)
            .update(
                file=stored,
                file_size=size,
                received_at=now,
                status=DiagnosticsRequestStatus.RECEIVED,
                last_heard_at=now,
                next_attempt_at=None,
                finished_at=now,
                last_error="",
            )
        )
        if claimed:
            diagnostics_uploaded_publish(tenant_id=request.tenant_id, request_id=request.pk)
    if not claimed:
        default_storage.delete(stored)
        raise UploadRefusedError(request.upload_token)


# --- Beat tick ----------------------------------------------------------------------------------


def diagnostics_requests_advance(*, now: datetime | None = None) -> None:
    """Send retries that are due, settle undelivered commands, ask quiet charge points
    (TriggerMessage), end the silent ones ``timed_out``."""
    now = now or timezone.now()
    open_ids = list(
        DiagnosticsRequest.objects.filter(finished_at__isnull=True)
        .exclude(status=DiagnosticsRequestStatus.PENDING)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for request_id in open_ids:
        with transaction.atomic():
            request = (
                # Only this row: the command join is an outer one (PostgreSQL refuses to lock it).
                DiagnosticsRequest.objects.select_for_update(of=("self",))
                .select_related("charge_point", "command")
                .filter(pk=request_id, finished_at__isnull=True)
                .first()
            )
            if request is not None:
                _advance_one(request, now)


def _advance_one(request: DiagnosticsRequest, now: datetime) -> None:
    if request.status == DiagnosticsRequestStatus.RETRY_PENDING:
        if request.next_attempt_at and request.next_attempt_at <= now:
            diagnostics_request_dispatch(request=request, now=now)
        return
    if request.status == DiagnosticsRequestStatus.DISPATCHED:
        error = get_diagnostics_error(request.command)
        if error is not None:
            diagnostics_request_fail(
                request=request, status=DiagnosticsRequestStatus.FAILED, error=error, now=now
            )
        return
    verdict = silence_verdict(
        now=now,
        since=quiet_since(
            last_heard_at=request.last_heard_at,
            dispatched_at=request.dispatched_at,
            not_before=None,
        ),
        triggered_at=request.triggered_at,
        quiet_after=settings.DIAGNOSTICS_QUIET_SECONDS,
        timeout=settings.DIAGNOSTICS_TIMEOUT_SECONDS,
    )
    if verdict == "timeout":
        error = (
            "the charge point reported Uploaded but no file arrived"
            if request.status == DiagnosticsRequestStatus.UPLOADED
            else f"nothing heard for {settings.DIAGNOSTICS_TIMEOUT_SECONDS} s"
        )
        diagnostics_request_fail(
            request=request, status=DiagnosticsRequestStatus.TIMED_OUT, error=error, now=now
        )
    elif verdict == "trigger":
        # GetLog's status comes from the security extension's trigger (whitepaper §5.3).
        trigger = (
            ("ExtendedTriggerMessage", {"requestedMessage": "LogStatusNotification"})
            if request.log_type
            else ("TriggerMessage", {"requestedMessage": "DiagnosticsStatusNotification"})
        )
        command_dispatch(
            charge_point=request.charge_point,
            action=trigger[0],
            payload=trigger[1],
            requested_by_job=f"{REQUESTED_BY}:{request.pk}",
            ttl_seconds=settings.DIAGNOSTICS_QUIET_SECONDS,
        )
        DiagnosticsRequest.objects.filter(pk=request.pk).update(triggered_at=now)
