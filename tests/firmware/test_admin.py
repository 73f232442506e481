"""Staff admin of campaigns, jobs, diagnostics requests and schedules: pages render, writes go
through the services, files download for staff only."""

from pathlib import Path
from typing import Any

import pytest
from django.db.models import Model
from django.test import Client
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from chargepoints.models import ChargePoint, Command
from csms.tenancy.models import Tenant
from firmware.models import DiagnosticsRequest, DiagnosticsSchedule, FirmwareJob, FirmwareUpdate
from firmware.services.diagnostics import diagnostics_request_create
from firmware.services.diagnostics_schedules import diagnostics_schedule_create
from firmware.services.firmware_updates import firmware_update_create
from tests.admin_pages import admin_url, pages_of
from tests.factories import ChargePointFactory

pytestmark = pytest.mark.django_db

LOCATION = "https://fw.example.com/fw.bin"


def campaign_of(tenant: Tenant, identity: str = "CP-1") -> FirmwareUpdate:
    station = ChargePointFactory(tenant=tenant, identity=identity, firmware_version="1.0")
    return firmware_update_create(
        tenant=tenant,
        location=LOCATION,
        firmware_version="2.0",
        charge_point_identities=[station.identity],
    )


def make_campaign(tenant: Tenant) -> Model:
    return campaign_of(tenant)


def make_job(tenant: Tenant) -> Model:
    return campaign_of(tenant).jobs.get()


def make_diagnostics(tenant: Tenant) -> Model:
    station = ChargePointFactory(tenant=tenant)
    return diagnostics_request_create(tenant=tenant, charge_point=station)


def make_schedule(tenant: Tenant) -> Model:
    station = ChargePointFactory(tenant=tenant)
    return diagnostics_schedule_create(
        tenant=tenant, name="nightly", charge_points=[station], crontab="0 3 * * *"
    )


@pytest.mark.parametrize(
    "make",
    [make_campaign, make_job, make_diagnostics, make_schedule],
    ids=lambda make: make.__name__.removeprefix("make_"),
)
def test_changelist_and_change_page_render_for_every_tenant(
    admin_client: Client, tenant: Tenant, other_tenant: Tenant, make: Any
) -> None:
    model, changelist, change = pages_of(admin_client, make, tenant, other_tenant)

    assert changelist.status_code == 200
    assert changelist.context["cl"].result_count == model.objects.count() == 2
    assert change.status_code == 200


def test_add_pages_render(admin_client: Client) -> None:
    for model in (FirmwareUpdate, DiagnosticsRequest, DiagnosticsSchedule):
        assert admin_client.get(admin_url(model, "add")).status_code == 200


def campaign_form(tenant: Tenant, **fields: Any) -> dict[str, Any]:
    now = timezone.now()
    return {
        "tenant": tenant.pk,
        "location": LOCATION,
        "firmware_version": "2.0",
        "max_attempts": 2,
        "attempt_interval": 600,
        "batch_size": 5,
        "batch_pause": 0,
        "starts_at_0": now.strftime("%Y-%m-%d"),
        "starts_at_1": now.strftime("%H:%M:%S"),
        "expires_at_0": (now + timezone.timedelta(days=2)).strftime("%Y-%m-%d"),
        "expires_at_1": "00:00:00",
        "quiet_after": 900,
        "status_timeout": 7200,
        **fields,
    }


def test_staff_create_a_campaign_with_jobs(
    admin_client: Client, admin_user: Any, tenant: Tenant
) -> None:
    first = ChargePointFactory(tenant=tenant, identity="CP-A")
    ChargePointFactory(tenant=tenant, identity="CP-B")

    response = admin_client.post(
        admin_url(FirmwareUpdate, "add"),
        campaign_form(tenant, name="Staff rollout", target_charge_points=[first.pk]),
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    campaign = FirmwareUpdate.objects.get()
    assert campaign.name == "Staff rollout"
    assert campaign.created_by_user == admin_user
    assert [job.charge_point for job in campaign.jobs.all()] == [first]


def test_staff_cannot_target_another_tenants_charge_point(
    admin_client: Client, tenant: Tenant, other_tenant: Tenant
) -> None:
    theirs = ChargePointFactory(tenant=other_tenant)

    response = admin_client.post(
        admin_url(FirmwareUpdate, "add"), campaign_form(tenant, target_charge_points=[theirs.pk])
    )

    assert response.status_code == 200
    assert "target_charge_points" in response.context["adminform"].form.errors
    assert not FirmwareUpdate.objects.exists()


def test_change_page_shows_the_summary_and_tunes_rollout_controls_only(
    admin_client: Client, tenant: Tenant
) -> None:
    campaign = campaign_of(tenant)
    page = admin_client.get(admin_url(FirmwareUpdate, "change", campaign.pk))
    assert b"pending: 1" in page.content

    response = admin_client.post(
        admin_url(FirmwareUpdate, "change", campaign.pk),
        {
            "name": "renamed",
            "max_in_flight": 3,
            "batch_pause": 60,
            "failure_threshold": 10,
            "expires_at_0": "2099-01-01",
            "expires_at_1": "00:00:00",
            "quiet_after": 100,
            "status_timeout": 1000,
            "max_attempts": 1,
            "attempt_interval": 5,
            "location": "https://evil.example.com/other.bin",
            "jobs-TOTAL_FORMS": 1,
            "jobs-INITIAL_FORMS": 1,
            "jobs-MIN_NUM_FORMS": 0,
            "jobs-MAX_NUM_FORMS": 0,
        },
    )

    assert response.status_code == 302
    campaign.refresh_from_db()
    assert (campaign.name, campaign.max_in_flight, campaign.failure_threshold) == (
        "renamed",
        3,
        10,
    )
    assert campaign.location == LOCATION


def test_pause_resume_cancel_actions(admin_client: Client, tenant: Tenant) -> None:
    campaign = campaign_of(tenant)
    url = admin_url(FirmwareUpdate, "changelist")

    def act(action: str) -> str:
        admin_client.post(url, {"action": action, "_selected_action": [campaign.pk]})
        campaign.refresh_from_db()
        return campaign.status

    assert [act("pause"), act("resume"), act("cancel"), act("resume")] == [
        "paused",
        "running",
        "cancelled",
        "cancelled",
    ]
    assert campaign.jobs.get().status == "cancelled"


def test_jobs_are_read_only(admin_client: Client, tenant: Tenant) -> None:
    job = campaign_of(tenant).jobs.get()
    response = admin_client.post(admin_url(FirmwareJob, "change", job.pk), {"status": "verified"})
    assert response.status_code == 403
    assert FirmwareJob.objects.get().status == "pending"


def test_staff_request_diagnostics(admin_client: Client, admin_user: Any, tenant: Tenant) -> None:
    station = ChargePointFactory(tenant=tenant)

    response = admin_client.post(
        admin_url(DiagnosticsRequest, "add"),
        {"charge_point": station.pk, "max_attempts": 1, "attempt_interval": 60},
    )

    assert response.status_code == 302
    diagnostics = DiagnosticsRequest.objects.get()
    assert (diagnostics.tenant, diagnostics.requested_by_user) == (tenant, admin_user)
    assert Command.objects.get().action == "GetDiagnostics"


def test_staff_download_the_file_and_nobody_else(
    admin_client: Client, tenant: Tenant, media_root: Path
) -> None:
    station = ChargePointFactory(tenant=tenant)
    diagnostics = diagnostics_request_create(tenant=tenant, charge_point=station)
    url = admin_url(DiagnosticsRequest, "file", diagnostics.pk)
    assert admin_client.get(url).status_code == 404
    Client().put(f"/uploads/diagnostics/{diagnostics.upload_token}/d.log", b"log!")

    staff = admin_client.get(url)
    anonymous = Client().get(url)
    page = admin_client.get(admin_url(DiagnosticsRequest, "change", diagnostics.pk))

    assert staff.status_code == 200
    assert b"".join(staff.streaming_content) == b"log!"
    assert anonymous.status_code == 302  # to the login page
    assert url.encode() in page.content


def schedule_form(
    tenant: Tenant, charge_points: list[ChargePoint], **fields: Any
) -> dict[str, Any]:
    """The add form of a diagnostics schedule "weekly" of ``charge_points``, with ``fields``."""
    return {
        "tenant": tenant.pk,
        "name": "weekly",
        "charge_points": [station.pk for station in charge_points],
        "max_attempts": 2,
        **fields,
    }


def test_staff_create_and_delete_a_schedule(admin_client: Client, tenant: Tenant) -> None:
    station = ChargePointFactory(tenant=tenant)

    response = admin_client.post(
        admin_url(DiagnosticsSchedule, "add"), schedule_form(tenant, [station], crontab="0 4 * * 1")
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    schedule = DiagnosticsSchedule.objects.get()
    assert list(schedule.charge_points.all()) == [station]
    task = schedule.periodic_task
    assert (task.crontab.minute, task.crontab.hour, task.crontab.day_of_week) == ("0", "4", "1")

    admin_client.post(admin_url(DiagnosticsSchedule, "delete", schedule.pk), {"post": "yes"})

    assert not DiagnosticsSchedule.objects.exists()
    assert not PeriodicTask.objects.filter(pk=task.pk).exists()


def test_schedule_form_refuses_another_tenants_charge_point(
    admin_client: Client, tenant: Tenant, other_tenant: Tenant
) -> None:
    theirs: ChargePoint = ChargePointFactory(tenant=other_tenant)

    response = admin_client.post(
        admin_url(DiagnosticsSchedule, "add"),
        schedule_form(tenant, [theirs], name="x", max_attempts=1, every_hours=1),
    )

    assert response.status_code == 200
    assert not DiagnosticsSchedule.objects.exists()
