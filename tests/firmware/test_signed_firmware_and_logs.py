"""The security extension's firmware and log messages (issue 19 §3): a signed campaign sends
SignedUpdateFirmware and SignedFirmwareStatusNotification drives its jobs like the unsigned
path; GetLog is a job like GetDiagnostics, uploading to the built-in receiver, driven by
LogStatusNotification."""

import base64
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction as db_transaction
from django.test import Client
from django.utils import timezone

from chargepoints.models import ChargePoint
from csms.errors import DomainError
from csms.tenancy.models import Tenant
from firmware.handlers import log_status_notification, signed_firmware_status_notification
from firmware.models import DiagnosticsRequest, FirmwareJob, FirmwareUpdate
from firmware.services.diagnostics import diagnostics_request_create, diagnostics_requests_advance
from firmware.services.firmware_rollout import firmware_updates_advance
from firmware.services.firmware_updates import firmware_update_create
from tests.certificates import hierarchy, pem
from tests.charge_point_calls import answer, call_context
from tests.firmware.conftest import boot, commands

pytestmark = pytest.mark.django_db

LOCATION = "https://fw.example.com/wallbox-2.1.bin"
SIGNATURE = base64.b64encode(b"a signature of the image").decode()


@pytest.fixture
def signing_certificate() -> str:
    return pem(hierarchy("Acme Charging").root.certificate)


def signed_campaign(
    tenant: Tenant, stations: list[ChargePoint], certificate: str
) -> FirmwareUpdate:
    return firmware_update_create(
        tenant=tenant,
        location=LOCATION,
        firmware_version="2.1",
        charge_point_identities=[cp.identity for cp in stations],
        signed=True,
        signing_certificate=certificate,
        signature=SIGNATURE,
        retries=2,
    )


def request_status(
    handler: Callable[..., Any], action: str, station: ChargePoint, status: str, request_id: int
) -> None:
    """``station`` reports ``status`` of request ``request_id`` through ``handler``."""
    with db_transaction.atomic():
        handler(call_context(station, action), {"status": status, "request_id": request_id})


def signed_status(station: ChargePoint, status: str, request_id: int) -> None:
    request_status(
        signed_firmware_status_notification,
        "SignedFirmwareStatusNotification",
        station,
        status,
        request_id,
    )


def signed_dispatched_to_one(
    tenant: Tenant, fleet: Callable[..., list[ChargePoint]], certificate: str
) -> tuple[ChargePoint, FirmwareUpdate]:
    """A signed campaign for one new station, its SignedUpdateFirmware queued."""
    (station,) = fleet(1)
    campaign = signed_campaign(tenant, [station], certificate)
    firmware_updates_advance()
    return station, campaign


def job_status(station: ChargePoint) -> str:
    return FirmwareJob.objects.get(charge_point=station).status


def test_a_signed_campaign_sends_signed_update_firmware(
    tenant: Tenant, fleet: Callable[..., list[ChargePoint]], signing_certificate: str
) -> None:
    station, _ = signed_dispatched_to_one(tenant, fleet, signing_certificate)

    (command,) = commands(station, "SignedUpdateFirmware")
    job = FirmwareJob.objects.get(charge_point=station)
    assert command.payload["requestId"] == job.pk
    assert command.payload["retries"] == 2
    firmware = command.payload["firmware"]
    assert (firmware["location"], firmware["signingCertificate"], firmware["signature"]) == (
        LOCATION,
        signing_certificate,
        SIGNATURE,
    )
    assert "retrieveDateTime" in firmware
    assert not commands(station, "UpdateFirmware")


def test_signed_status_notifications_drive_the_job_to_verified(
    tenant: Tenant, fleet: Callable[..., list[ChargePoint]], signing_certificate: str
) -> None:
    station, _ = signed_dispatched_to_one(tenant, fleet, signing_certificate)
    answer(commands(station, "SignedUpdateFirmware")[0], {"status": "Accepted"})
    job_id = FirmwareJob.objects.get(charge_point=station).pk
    assert job_status(station) == "accepted"

    seen = []
    for status in ("Downloading", "Downloaded", "SignatureVerified", "Installing", "Installed"):
        signed_status(station, status, job_id)
        seen.append(job_status(station))
    boot(station, "2.1")

    assert seen == ["downloading", "downloaded", "signature_verified", "installing", "installed"]
    assert job_status(station) == "verified"


@pytest.mark.parametrize(
    ("how", "status", "expected"),
    [
        ("notification", "InvalidSignature", "invalid_signature"),
        ("answer", "InvalidCertificate", "invalid_certificate"),
        ("answer", "Rejected", "failed"),
    ],
)
def test_an_invalid_signature_or_certificate_fails_the_job(
    tenant: Tenant,
    fleet: Callable[..., list[ChargePoint]],
    signing_certificate: str,
    how: str,
    status: str,
    expected: str,
) -> None:
    (station,) = fleet(1)
    campaign = signed_campaign(tenant, [station], signing_certificate)
    FirmwareUpdate.objects.filter(pk=campaign.pk).update(max_attempts=1)
    firmware_updates_advance()
    command = commands(station, "SignedUpdateFirmware")[0]
    if how == "answer":
        answer(command, {"status": status})
    else:
        answer(command, {"status": "Accepted"})
        signed_status(station, "Downloaded", command.payload["requestId"])
        signed_status(station, status, command.payload["requestId"])

    job = FirmwareJob.objects.get(charge_point=station)
    assert job.status == expected
    assert status in job.last_error


def test_a_signed_campaign_needs_a_certificate_and_a_signature(
    tenant: Tenant, fleet: Callable[..., list[ChargePoint]]
) -> None:
    (station,) = fleet(1)
    with pytest.raises(DomainError, match="signing_certificate: Not a PEM"):
        signed_campaign(tenant, [station], "-----BEGIN CERTIFICATE-----\nnope")
    assert not FirmwareUpdate.objects.exists()


def test_quiet_signed_jobs_are_asked_with_the_extended_trigger(
    tenant: Tenant, fleet: Callable[..., list[ChargePoint]], signing_certificate: str
) -> None:
    station, campaign = signed_dispatched_to_one(tenant, fleet, signing_certificate)
    answer(commands(station, "SignedUpdateFirmware")[0], {"status": "Accepted"})

    firmware_updates_advance(now=timezone.now() + timedelta(seconds=campaign.quiet_after + 5))

    (trigger,) = commands(station, "ExtendedTriggerMessage")
    assert trigger.payload == {"requestedMessage": "FirmwareStatusNotification"}


# --- GetLog -------------------------------------------------------------------------------------


def log_status(station: ChargePoint, status: str, request_id: int) -> None:
    request_status(log_status_notification, "LogStatusNotification", station, status, request_id)


def fresh(request: DiagnosticsRequest) -> DiagnosticsRequest:
    return DiagnosticsRequest.objects.get(pk=request.pk)


def test_get_log_uploads_to_the_built_in_receiver(
    tenant: Tenant, cp: ChargePoint, media_root: Path, settings: Any
) -> None:
    settings.CSMS_PUBLIC_URL = "https://csms.example.com"
    start = timezone.now() - timedelta(days=1)
    request = diagnostics_request_create(
        tenant=tenant, charge_point=cp, log_type="SecurityLog", start_time=start
    )

    (command,) = commands(cp, "GetLog")
    assert command.payload["logType"] == "SecurityLog"
    assert command.payload["requestId"] == request.pk
    location = command.payload["log"]["remoteLocation"]
    assert location == f"https://csms.example.com/uploads/diagnostics/{request.upload_token}/"
    assert "oldestTimestamp" in command.payload["log"]
    assert not commands(cp, "GetDiagnostics")

    answer(command, {"status": "Accepted", "filename": "security.log"})
    assert (fresh(request).status, fresh(request).file_name) == ("accepted", "security.log")
    log_status(cp, "Uploading", request.pk)
    assert fresh(request).status == "uploading"
    log_status(cp, "Uploaded", request.pk)
    assert fresh(request).last_status == "Uploaded"

    response = Client().put(
        f"/uploads/diagnostics/{request.upload_token}/security.log",
        b"2024-05-01 tamper\n",
        content_type="text/plain",
    )
    assert response.status_code == 201
    assert fresh(request).status == "received"
    assert fresh(request).file.read() == b"2024-05-01 tamper\n"


@pytest.mark.parametrize("status", ["UploadFailure", "PermissionDenied", "BadMessage"])
def test_a_failed_log_upload_is_retried_like_diagnostics(
    tenant: Tenant, cp: ChargePoint, status: str
) -> None:
    request = diagnostics_request_create(tenant=tenant, charge_point=cp, log_type="DiagnosticsLog")
    answer(commands(cp, "GetLog")[0], {"status": "Accepted", "filename": "diag.log"})

    log_status(cp, status, request.pk)

    failed = fresh(request)
    assert (failed.status, failed.last_status) == ("retry_pending", status)
    assert status in failed.last_error
    diagnostics_requests_advance(
        now=timezone.now() + timedelta(seconds=failed.attempt_interval + 1)
    )
    assert len(commands(cp, "GetLog")) == 2


def test_a_rejected_get_log_fails_the_attempt(tenant: Tenant, cp: ChargePoint) -> None:
    request = diagnostics_request_create(
        tenant=tenant, charge_point=cp, log_type="SecurityLog", max_attempts=1
    )
    answer(commands(cp, "GetLog")[0], {"status": "Rejected"})
    assert (fresh(request).status, fresh(request).last_error) == (
        "failed",
        "GetLog answered Rejected",
    )
