"""Diagnostics requests: GetDiagnostics sent and followed, retries and time-outs, the upload
receiver (PUT, multipart and raw POST, size limit, one use per token) and schedules."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from chargepoints.commands.outbox import expire_due_commands
from chargepoints.models import ChargePoint
from csms.errors import DomainError
from csms.tenancy.models import Tenant
from firmware.models import DiagnosticsRequest, DiagnosticsSchedule
from firmware.services.diagnostics import diagnostics_request_create, diagnostics_requests_advance
from firmware.services.diagnostics_schedules import (
    diagnostics_schedule_create,
    diagnostics_schedule_delete,
)
from firmware.tasks import advance_diagnostics_requests, run_diagnostics_schedule
from tests.charge_point_calls import answer
from tests.factories import ChargePointFactory
from tests.firmware.conftest import answer_error, commands, diagnostics_status

pytestmark = pytest.mark.django_db

PUBLIC_URL = "https://csms.example.com"


@pytest.fixture(autouse=True)
def _public_url(settings: Any) -> None:
    settings.CSMS_PUBLIC_URL = PUBLIC_URL + "/"


@pytest.fixture
def station(tenant: Tenant) -> ChargePoint:
    return ChargePointFactory(tenant=tenant, identity="CP-1")


@pytest.fixture
def upload_client() -> Client:
    """A charge point's HTTP client: no API token, no CSRF cookie."""
    return Client(enforce_csrf_checks=True)


def request_for(station: ChargePoint, **options: Any) -> DiagnosticsRequest:
    return diagnostics_request_create(tenant=station.tenant, charge_point=station, **options)


def upload_path(diagnostics: DiagnosticsRequest, suffix: str = "") -> str:
    return f"/uploads/diagnostics/{diagnostics.upload_token}/{suffix}"


def fresh(diagnostics: DiagnosticsRequest) -> DiagnosticsRequest:
    return DiagnosticsRequest.objects.get(pk=diagnostics.pk)


def stored_files(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


# --- GetDiagnostics -----------------------------------------------------------------------------


def test_request_sends_get_diagnostics_with_our_unguessable_upload_url(
    station: ChargePoint,
) -> None:
    diagnostics = request_for(
        station,
        start_time=datetime(2025, 1, 1, tzinfo=UTC),
        stop_time=datetime(2025, 1, 2, tzinfo=UTC),
        retries=2,
        retry_interval=30,
    )
    other = request_for(station)

    (command, _) = commands(station, "GetDiagnostics")
    token = diagnostics.upload_token
    assert len(token) >= 40
    assert token != other.upload_token
    assert command.payload == {
        "location": f"{PUBLIC_URL}/uploads/diagnostics/{token}/",
        "startTime": "2025-01-01T00:00:00Z",
        "stopTime": "2025-01-02T00:00:00Z",
        "retries": 2,
        "retryInterval": 30,
    }
    assert (fresh(diagnostics).status, fresh(diagnostics).attempts) == ("dispatched", 1)


def test_external_location_is_sent_as_given_and_gets_no_token(station: ChargePoint) -> None:
    diagnostics = request_for(station, location="ftp://logs.example.com/in/")

    (command,) = commands(station, "GetDiagnostics")
    assert command.payload == {"location": "ftp://logs.example.com/in/"}
    assert diagnostics.upload_token is None


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"location": "file:///tmp/x"}, id="bad-location"),
        pytest.param(
            {
                "start_time": datetime(2025, 1, 2, tzinfo=UTC),
                "stop_time": datetime(2025, 1, 1, tzinfo=UTC),
            },
            id="stop-before-start",
        ),
    ],
)
def test_invalid_request_is_refused_and_nothing_sent(
    station: ChargePoint, options: dict[str, Any]
) -> None:
    with pytest.raises(DomainError):
        request_for(station, **options)
    assert not DiagnosticsRequest.objects.exists()
    assert commands(station, "GetDiagnostics") == []


def test_another_tenants_charge_point_is_refused(other_tenant: Tenant, tenant: Tenant) -> None:
    theirs = ChargePointFactory(tenant=other_tenant)
    with pytest.raises(DomainError):
        diagnostics_request_create(tenant=tenant, charge_point=theirs)


def test_answer_without_file_name_means_nothing_to_upload(station: ChargePoint) -> None:
    diagnostics = request_for(station)
    answer(commands(station, "GetDiagnostics")[0], {})

    diagnostics = fresh(diagnostics)
    assert diagnostics.status == "no_file"
    assert diagnostics.finished_at is not None


def test_status_notifications_then_the_file_complete_the_request(
    station: ChargePoint, upload_client: Client, media_root: Path
) -> None:
    diagnostics = request_for(station)
    answer(commands(station, "GetDiagnostics")[0], {"fileName": "diag-CP-1.zip"})
    assert (fresh(diagnostics).status, fresh(diagnostics).file_name) == (
        "accepted",
        "diag-CP-1.zip",
    )

    diagnostics_status(station, "Uploading")
    assert fresh(diagnostics).status == "uploading"
    diagnostics_status(station, "Uploaded")
    # Our receiver has not seen the file yet: the charger's word is not enough.
    assert (fresh(diagnostics).status, fresh(diagnostics).finished_at) == ("uploaded", None)

    response = upload_client.put(
        upload_path(diagnostics, "diag-CP-1.zip"), b"log line\n", content_type="application/zip"
    )

    assert response.status_code == 201
    diagnostics = fresh(diagnostics)
    assert diagnostics.status == "received"
    assert diagnostics.finished_at is not None
    assert diagnostics.file_size == 9
    assert diagnostics.file.name.endswith("diag-CP-1.zip")
    assert diagnostics.file.read() == b"log line\n"
    assert stored_files(media_root) == [media_root / diagnostics.file.name]


def test_uploaded_to_an_external_location_ends_the_request(station: ChargePoint) -> None:
    diagnostics = request_for(station, location="https://logs.example.com/up/")
    answer(commands(station, "GetDiagnostics")[0], {"fileName": "d.tgz"})
    diagnostics_status(station, "Uploading")
    diagnostics_status(station, "Uploaded")

    diagnostics = fresh(diagnostics)
    assert diagnostics.status == "uploaded"
    assert diagnostics.finished_at is not None


def test_upload_failed_is_retried_after_the_interval(station: ChargePoint) -> None:
    diagnostics = request_for(station, max_attempts=2, attempt_interval=120)
    answer(commands(station, "GetDiagnostics")[0], {"fileName": "d.zip"})
    diagnostics_status(station, "UploadFailed")
    assert fresh(diagnostics).status == "retry_pending"

    diagnostics_requests_advance(now=timezone.now() + timedelta(minutes=1))
    assert len(commands(station, "GetDiagnostics")) == 1
    diagnostics_requests_advance(now=timezone.now() + timedelta(minutes=3))

    first, second = commands(station, "GetDiagnostics")
    assert second.payload == first.payload  # the same upload URL, still unused
    assert (fresh(diagnostics).status, fresh(diagnostics).attempts) == ("dispatched", 2)
    answer(second, {"fileName": "d.zip"})
    diagnostics_status(station, "UploadFailed")
    assert fresh(diagnostics).status == "upload_failed"


def test_quiet_request_is_asked_then_times_out(station: ChargePoint, settings: Any) -> None:
    settings.DIAGNOSTICS_QUIET_SECONDS = 60
    settings.DIAGNOSTICS_TIMEOUT_SECONDS = 600
    diagnostics = request_for(station, max_attempts=1)
    answer(commands(station, "GetDiagnostics")[0], {"fileName": "d.zip"})

    diagnostics_requests_advance(now=timezone.now() + timedelta(minutes=2))
    (trigger,) = commands(station, "TriggerMessage")
    assert trigger.payload == {"requestedMessage": "DiagnosticsStatusNotification"}

    diagnostics_requests_advance(now=timezone.now() + timedelta(minutes=11))
    diagnostics = fresh(diagnostics)
    assert diagnostics.status == "timed_out"


def test_beat_task_settles_a_command_that_could_not_be_delivered(station: ChargePoint) -> None:
    diagnostics = request_for(station, max_attempts=1)
    command = commands(station, "GetDiagnostics")[0]
    type(command).objects.filter(pk=command.pk).update(status="expired")

    advance_diagnostics_requests()

    assert fresh(diagnostics).status == "failed"
    assert "expired" in fresh(diagnostics).last_error
    assert PeriodicTask.objects.get(task="firmware.advance_diagnostics_requests").enabled


def test_refused_get_diagnostics_fails_the_request_without_a_tick(station: ChargePoint) -> None:
    diagnostics = request_for(station, max_attempts=1)

    answer_error(commands(station, "GetDiagnostics")[0], code="NotImplemented")

    diagnostics = fresh(diagnostics)
    assert diagnostics.status == "failed"
    assert diagnostics.last_error == "GetDiagnostics failed: NotImplemented boom"
    assert diagnostics.finished_at is not None


def test_expired_get_diagnostics_waits_for_its_retry_without_a_tick(
    station: ChargePoint,
) -> None:
    diagnostics = request_for(station, max_attempts=2, attempt_interval=120)
    command = commands(station, "GetDiagnostics")[0]
    type(command).objects.filter(pk=command.pk).update(expires_at=timezone.now())

    expire_due_commands()

    diagnostics = fresh(diagnostics)
    assert diagnostics.status == "retry_pending"
    assert diagnostics.last_error.startswith("failed: GetDiagnostics expired")
    diagnostics_requests_advance(now=timezone.now() + timedelta(minutes=3))
    assert len(commands(station, "GetDiagnostics")) == 2


# --- The upload receiver ------------------------------------------------------------------------


def test_multipart_post_is_received_with_the_parts_file_name(
    station: ChargePoint, upload_client: Client, media_root: Path
) -> None:
    diagnostics = request_for(station)

    response = upload_client.post(
        upload_path(diagnostics),
        {"uploadfile": SimpleUploadedFile("CP-1 logs.tar.gz", b"\x1f\x8b binary")},
    )

    assert response.status_code == 201
    assert response.json() == {"status": "received", "size": 9}
    diagnostics = fresh(diagnostics)
    assert diagnostics.file.name.endswith("CP-1_logs.tar.gz")
    assert diagnostics.file.read() == b"\x1f\x8b binary"


def test_raw_post_body_is_the_file(
    station: ChargePoint, upload_client: Client, media_root: Path
) -> None:
    diagnostics = request_for(station)

    response = upload_client.post(
        upload_path(diagnostics, "x.log"), b"raw", content_type="text/plain"
    )

    assert response.status_code == 201
    assert fresh(diagnostics).file.read() == b"raw"


def test_token_is_used_once(station: ChargePoint, upload_client: Client, media_root: Path) -> None:
    diagnostics = request_for(station)
    assert upload_client.put(upload_path(diagnostics, "a"), b"first").status_code == 201

    again = upload_client.put(upload_path(diagnostics, "b"), b"second")

    assert again.status_code == 404
    assert again["Content-Type"] == "application/json"
    assert fresh(diagnostics).file.read() == b"first"
    assert len(stored_files(media_root)) == 1


@pytest.mark.parametrize("token", ["not-a-token", "x" * 43])
def test_unknown_token_is_refused_with_404(
    station: ChargePoint, upload_client: Client, media_root: Path, token: str
) -> None:
    request_for(station)

    response = upload_client.put(f"/uploads/diagnostics/{token}/d.zip", b"data")

    assert response.status_code == 404
    assert json.loads(response.content)["code"] == "not_found"
    assert stored_files(media_root) == []


def test_external_location_request_has_no_receiver(
    station: ChargePoint, upload_client: Client, media_root: Path
) -> None:
    request_for(station, location="ftp://logs.example.com/")
    response = upload_client.put("/uploads/diagnostics/None/d.zip", b"data")
    assert response.status_code == 404


def test_oversized_put_is_refused_with_413_and_the_token_stays_usable(
    station: ChargePoint, upload_client: Client, media_root: Path, settings: Any
) -> None:
    settings.DIAGNOSTICS_UPLOAD_MAX_BYTES = 1000
    diagnostics = request_for(station)

    too_big = upload_client.put(upload_path(diagnostics, "d.zip"), b"x" * 1001)

    assert too_big.status_code == 413
    assert too_big.json()["code"] == "too_large"
    assert stored_files(media_root) == []
    assert not fresh(diagnostics).file
    assert upload_client.put(upload_path(diagnostics, "d.zip"), b"x" * 1000).status_code == 201


def test_oversized_multipart_is_refused_with_413(
    station: ChargePoint, upload_client: Client, media_root: Path, settings: Any
) -> None:
    settings.DIAGNOSTICS_UPLOAD_MAX_BYTES = 100_000
    diagnostics = request_for(station)

    # Declared size within the multipart slack: refused while the parts are read.
    response = upload_client.post(
        upload_path(diagnostics), {"file": SimpleUploadedFile("d.zip", b"x" * 100_001)}
    )
    huge = upload_client.post(
        upload_path(diagnostics), {"file": SimpleUploadedFile("d.zip", b"x" * 300_000)}
    )

    assert (response.status_code, huge.status_code) == (413, 413)
    assert stored_files(media_root) == []


def test_receiver_accepts_only_put_and_post(station: ChargePoint, upload_client: Client) -> None:
    diagnostics = request_for(station)
    response = upload_client.get(upload_path(diagnostics))
    assert response.status_code == 405
    assert response["Allow"] == "PUT, POST"


def test_multipart_without_a_file_part_is_a_400(
    station: ChargePoint, upload_client: Client, media_root: Path
) -> None:
    diagnostics = request_for(station)
    response = upload_client.post(upload_path(diagnostics), {"note": "no file here"})
    assert response.status_code == 400
    assert not fresh(diagnostics).file


# --- Schedules ----------------------------------------------------------------------------------


def test_schedule_is_a_periodic_task_that_requests_diagnostics_for_its_group(
    tenant: Tenant,
) -> None:
    first = ChargePointFactory(tenant=tenant, identity="CP-A")
    second = ChargePointFactory(tenant=tenant, identity="CP-B")
    ChargePointFactory(tenant=tenant, identity="CP-NOT-IN-GROUP")
    schedule = diagnostics_schedule_create(
        tenant=tenant, name="nightly", charge_points=[first, second], crontab="30 2 * * *",
        window_hours=24,
    )  # fmt: skip

    task = PeriodicTask.objects.get(pk=schedule.periodic_task_id)
    assert task.task == "firmware.run_diagnostics_schedule"
    assert json.loads(task.kwargs) == {"schedule_id": schedule.pk}
    assert (task.crontab.minute, task.crontab.hour) == ("30", "2")

    assert run_diagnostics_schedule(schedule.pk) == 2
    requests = DiagnosticsRequest.objects.filter(schedule=schedule).order_by("charge_point")
    assert [r.charge_point.identity for r in requests] == ["CP-A", "CP-B"]
    assert all(r.stop_time - r.start_time == timedelta(hours=24) for r in requests)
    # Still open: the next run does not pile up requests.
    assert run_diagnostics_schedule(schedule.pk) == 0


def test_schedule_every_n_hours(tenant: Tenant) -> None:
    station = ChargePointFactory(tenant=tenant)
    schedule = diagnostics_schedule_create(
        tenant=tenant, name="6h", charge_points=[station], every_hours=6
    )
    task = schedule.periodic_task
    assert (task.interval.every, task.interval.period) == (6, "hours")


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"crontab": "61 * * * *"}, id="bad-crontab"),
        pytest.param({"crontab": "0 2 * * *", "every_hours": 3}, id="both-timings"),
        pytest.param({}, id="no-timing"),
    ],
)
def test_invalid_schedule_is_refused(tenant: Tenant, options: dict[str, Any]) -> None:
    station = ChargePointFactory(tenant=tenant)
    with pytest.raises(DomainError):
        diagnostics_schedule_create(tenant=tenant, name="x", charge_points=[station], **options)
    assert not DiagnosticsSchedule.objects.exists()
    assert not PeriodicTask.objects.filter(task="firmware.run_diagnostics_schedule").exists()


def test_schedule_refuses_another_tenants_charge_point(
    tenant: Tenant, other_tenant: Tenant
) -> None:
    theirs = ChargePointFactory(tenant=other_tenant)
    with pytest.raises(DomainError):
        diagnostics_schedule_create(tenant=tenant, name="x", charge_points=[theirs], every_hours=1)


def test_deleting_a_schedule_deletes_its_periodic_task(tenant: Tenant) -> None:
    station = ChargePointFactory(tenant=tenant)
    schedule = diagnostics_schedule_create(
        tenant=tenant, name="x", charge_points=[station], every_hours=1
    )
    task_id = schedule.periodic_task_id

    diagnostics_schedule_delete(schedule=schedule)

    assert not PeriodicTask.objects.filter(pk=task_id).exists()
    assert run_diagnostics_schedule(schedule.pk) == 0
