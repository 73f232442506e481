"""Tenant API of firmware campaigns and diagnostics requests: create, list, detail, actions,
the file download, and another tenant's objects (404, exactly like missing ones)."""

from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from chargepoints.models import ChargePoint, Command
from csms.tenancy.models import Tenant
from firmware.models import DiagnosticsRequest, FirmwareJob, FirmwareUpdate
from firmware.services.firmware_rollout import firmware_updates_advance
from tests.charge_point_calls import answer
from tests.factories import ChargePointFactory
from tests.firmware.conftest import boot, firmware_status

pytestmark = pytest.mark.django_db

CAMPAIGNS = "/api/v1/firmware-updates/"
DIAGNOSTICS = "/api/v1/diagnostics-requests/"
LOCATION = "https://fw.example.com/fw-2.0.bin"


@pytest.fixture
def stations(tenant: Tenant) -> list[ChargePoint]:
    return [
        ChargePointFactory(tenant=tenant, identity=f"CP-{n}", firmware_version="1.0")
        for n in (1, 2, 3)
    ]


@pytest.fixture
def theirs(other_tenant: Tenant) -> ChargePoint:
    return ChargePointFactory(tenant=other_tenant, identity="CP-THEIRS", firmware_version="1.0")


def create_campaign(api: APIClient, **body: Any) -> Any:
    body = {"location": LOCATION, "firmware_version": "2.0", **body}
    return api.post(CAMPAIGNS, body, format="json")


# --- Firmware updates ---------------------------------------------------------------------------


def test_create_campaign_for_listed_charge_points(
    api: APIClient, stations: list[ChargePoint]
) -> None:
    response = create_campaign(
        api, name="Spring", charge_points=["CP-1", "CP-3"], batch_size=1, failure_threshold=20
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "running"
    assert body["summary"]["pending"] == 2
    assert body["summary"]["total"] == 2
    assert [(j["charge_point"], j["batch"], j["status"]) for j in body["jobs"]] == [
        ("CP-1", 1, "pending"),
        ("CP-3", 2, "pending"),
    ]
    campaign = FirmwareUpdate.objects.get(pk=body["id"])
    assert campaign.created_by_token is not None
    assert (campaign.batch_size, campaign.failure_threshold) == (1, 20)


def test_create_campaign_by_filter(api: APIClient, stations: list[ChargePoint]) -> None:
    ChargePoint.objects.filter(identity="CP-2").update(model="Other")

    response = create_campaign(api, filter_model="Wallbox 22", filter_firmware_version="1.0")

    assert response.status_code == 201, response.json()
    assert sorted(j["charge_point"] for j in response.json()["jobs"]) == ["CP-1", "CP-3"]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"charge_points": ["CP-THEIRS"]}, id="another-tenants-charge-point"),
        pytest.param({"charge_points": ["CP-1", "NOPE"]}, id="unknown-charge-point"),
        pytest.param({}, id="no-targets"),
        pytest.param({"charge_points": ["CP-1"], "location": "ssh://x/y"}, id="bad-location"),
        pytest.param({"charge_points": ["CP-1"], "batch_size": 0}, id="batch-size-zero"),
        pytest.param({"charge_points": ["CP-1"], "failure_threshold": 101}, id="threshold"),
        pytest.param({"charge_points": []}, id="empty-list"),
        pytest.param(
            {"charge_points": ["CP-1"], "expires_at": "2000-01-01T00:00:00Z"}, id="window"
        ),
    ],
)
def test_invalid_campaign_is_400_and_stores_nothing(
    api: APIClient, stations: list[ChargePoint], theirs: ChargePoint, body: dict[str, Any]
) -> None:
    response = create_campaign(api, **body)

    assert response.status_code == 400
    assert response.json()
    assert not FirmwareUpdate.objects.exists()
    assert not FirmwareJob.objects.exists()


def test_list_shows_each_campaigns_summary_in_a_constant_number_of_queries(
    api: APIClient, stations: list[ChargePoint]
) -> None:
    create_campaign(api, charge_points=["CP-1"])
    create_campaign(api, charge_points=["CP-2", "CP-3"])
    firmware_updates_advance()

    with CaptureQueriesContext(connection) as two:
        response = api.get(CAMPAIGNS)
    create_campaign(api, charge_points=["CP-3"], firmware_version="3.0")
    with CaptureQueriesContext(connection) as three:
        api.get(CAMPAIGNS)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert [r["summary"]["dispatched"] for r in body["results"]] == [2, 1]
    assert "jobs" not in body["results"][0]
    assert len(three) == len(two)


def test_detail_follows_the_jobs(api: APIClient, stations: list[ChargePoint]) -> None:
    campaign_id = create_campaign(api, charge_points=["CP-1"]).json()["id"]
    firmware_updates_advance()
    answer(Command.objects.get(action="UpdateFirmware"), {})
    for status in ("Downloading", "Downloaded", "Installing", "Installed"):
        firmware_status(stations[0], status)
    boot(stations[0], "2.0")

    body = api.get(f"{CAMPAIGNS}{campaign_id}/").json()

    (job,) = body["jobs"]
    assert (job["charge_point"], job["status"], job["last_status"]) == (
        "CP-1",
        "verified",
        "Installed",
    )
    assert job["command"] == Command.objects.get(action="UpdateFirmware").pk
    assert body["summary"]["verified"] == 1


def test_pause_resume_cancel(api: APIClient, stations: list[ChargePoint]) -> None:
    url = f"{CAMPAIGNS}{create_campaign(api, charge_points=['CP-1']).json()['id']}"

    paused = api.post(f"{url}/pause/")
    paused_again = api.post(f"{url}/pause/")
    resumed = api.post(f"{url}/resume/")
    cancelled = api.post(f"{url}/cancel/")
    resumed_after_cancel = api.post(f"{url}/resume/")

    assert (paused.status_code, paused.json()["status"]) == (200, "paused")
    assert paused_again.status_code == 409
    assert paused_again.json()["code"] == "conflict"
    assert resumed.json()["status"] == "running"
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["jobs"][0]["status"] == "cancelled"
    assert resumed_after_cancel.status_code == 409


def test_another_tenants_campaign_is_404(
    api: APIClient, other_api: APIClient, stations: list[ChargePoint]
) -> None:
    campaign_id = create_campaign(api, charge_points=["CP-1"]).json()["id"]

    assert other_api.get(CAMPAIGNS).json()["count"] == 0
    assert other_api.get(f"{CAMPAIGNS}{campaign_id}/").status_code == 404
    for verb in ("pause", "resume", "cancel"):
        assert other_api.post(f"{CAMPAIGNS}{campaign_id}/{verb}/").status_code == 404
    assert FirmwareUpdate.objects.get(pk=campaign_id).status == "running"


def test_campaigns_need_a_token(stations: list[ChargePoint]) -> None:
    assert APIClient().get(CAMPAIGNS).status_code == 401


# --- Diagnostics requests -----------------------------------------------------------------------


def test_create_diagnostics_request_uses_the_receiver_without_revealing_its_url(
    api: APIClient, stations: list[ChargePoint]
) -> None:
    response = api.post(
        DIAGNOSTICS,
        {"charge_point": "CP-1", "start_time": "2025-01-01T00:00:00Z", "retries": 1},
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["charge_point"], body["status"], body["uses_upload_receiver"]) == (
        "CP-1",
        "dispatched",
        True,
    )
    assert (body["file_received"], body["file_url"]) == (False, None)
    diagnostics = DiagnosticsRequest.objects.get(pk=body["id"])
    assert diagnostics.upload_token not in response.content.decode()
    assert diagnostics.requested_by_token is not None
    command = Command.objects.get(action="GetDiagnostics")
    assert command.payload["startTime"] == "2025-01-01T00:00:00Z"
    assert body["command"] == command.pk


def test_create_with_an_external_location(api: APIClient, stations: list[ChargePoint]) -> None:
    body = {"charge_point": "CP-2", "location": "ftp://up.example.com/diag/"}
    response = api.post(DIAGNOSTICS, body, format="json")

    assert response.status_code == 201
    assert response.json()["uses_upload_receiver"] is False
    assert Command.objects.get().payload == {"location": "ftp://up.example.com/diag/"}


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"charge_point": "CP-THEIRS"}, id="another-tenants-charge-point"),
        pytest.param({"charge_point": "NOPE"}, id="unknown-charge-point"),
        pytest.param({"charge_point": "CP-1", "location": "gopher://x"}, id="bad-location"),
        pytest.param(
            {
                "charge_point": "CP-1",
                "start_time": "2025-01-02T00:00:00Z",
                "stop_time": "2025-01-01T00:00:00Z",
            },
            id="stop-before-start",
        ),
        pytest.param({"charge_point": "CP-1", "retries": -1}, id="negative-retries"),
    ],
)
def test_invalid_diagnostics_request_is_400_and_sends_nothing(
    api: APIClient, stations: list[ChargePoint], theirs: ChargePoint, body: dict[str, Any]
) -> None:
    response = api.post(DIAGNOSTICS, body, format="json")

    assert response.status_code == 400
    assert not DiagnosticsRequest.objects.exists()
    assert not Command.objects.exists()


def test_tenant_downloads_the_received_file(
    api: APIClient, other_api: APIClient, stations: list[ChargePoint], media_root: Path
) -> None:
    diagnostics_id = api.post(DIAGNOSTICS, {"charge_point": "CP-1"}, format="json").json()["id"]
    token = DiagnosticsRequest.objects.get(pk=diagnostics_id).upload_token
    assert api.get(f"{DIAGNOSTICS}{diagnostics_id}/file/").status_code == 404
    Client().put(f"/uploads/diagnostics/{token}/diag.zip", b"PK\x03\x04 zip bytes")

    detail = api.get(f"{DIAGNOSTICS}{diagnostics_id}/").json()
    download = api.get(detail["file_url"], HTTP_ACCEPT="application/octet-stream")
    theirs = other_api.get(f"{DIAGNOSTICS}{diagnostics_id}/file/")

    assert (detail["status"], detail["file_received"], detail["file_size"]) == (
        "received",
        True,
        len(b"PK\x03\x04 zip bytes"),
    )
    assert detail["file_url"].endswith(f"/api/v1/diagnostics-requests/{diagnostics_id}/file/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"PK\x03\x04 zip bytes"
    assert 'attachment; filename="diag.zip"' in download["Content-Disposition"]
    assert theirs.status_code == 404


def test_another_tenants_diagnostics_request_is_404(
    api: APIClient, other_api: APIClient, stations: list[ChargePoint]
) -> None:
    diagnostics_id = api.post(DIAGNOSTICS, {"charge_point": "CP-1"}, format="json").json()["id"]

    assert other_api.get(DIAGNOSTICS).json()["count"] == 0
    assert other_api.get(f"{DIAGNOSTICS}{diagnostics_id}/").status_code == 404
    listed = api.get(f"{DIAGNOSTICS}?status=dispatched").json()
    assert [r["id"] for r in listed["results"]] == [diagnostics_id]


def test_diagnostics_requests_need_a_token(stations: list[ChargePoint]) -> None:
    assert APIClient().post(DIAGNOSTICS, {"charge_point": "CP-1"}).status_code == 401
    assert not DiagnosticsRequest.objects.exists()
