"""Reservation, firmware-job and diagnostics events: written in the transaction of the change,
once per row a conditional update really moved, and none for a change rolled back."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from chargepoints.commands.outbox import outbox_complete
from chargepoints.models import ChargePoint, Command, CommandStatus, Reservation
from chargepoints.reservations.services import (
    reservation_cancel,
    reservation_create,
    reservations_expire,
)
from csms.tenancy.models import Tenant
from csms.webhooks.event_types import EventType
from csms.webhooks.models import Delivery, Event, WebhookEndpoint
from csms.webhooks.services.deliveries import Outcome, delivery_attempt
from firmware.models import DiagnosticsRequest, FirmwareUpdate
from firmware.services.diagnostics import diagnostics_request_create
from firmware.services.firmware_rollout import firmware_updates_advance
from firmware.services.firmware_updates import firmware_update_cancel, firmware_update_create
from tests.charge_point_calls import call_context
from tests.factories import ChargePointFactory, CommandFactory, IdTagFactory, ReservationFactory
from tests.firmware.conftest import answer_error, boot, diagnostics_status, firmware_status
from tests.webhooks.conftest import Receiver
from transactions.handlers import start_transaction

pytestmark = pytest.mark.django_db


def events(type_: str) -> list[Event]:
    return list(Event.objects.filter(type=type_).order_by("created_at", "id"))


def answer(command: Command, response: dict[str, Any]) -> None:
    """The charge point answers: the outbox's own completion path (result hooks included)."""
    Command.objects.filter(pk=command.pk).update(status=CommandStatus.SENT, sent_at=timezone.now())
    with transaction.atomic():
        outbox_complete(command_id=command.pk, response=response)


def last_command(station: ChargePoint, action: str) -> Command:
    return Command.objects.filter(charge_point=station, action=action).latest("id")


# --- Reservations -------------------------------------------------------------------------------


def reservation_statuses() -> list[str]:
    return [e.data["status"] for e in events(EventType.RESERVATION_CHANGED)]


@pytest.fixture
def reserved(tenant: Tenant, cp: ChargePoint, endpoint: WebhookEndpoint) -> Reservation:
    IdTagFactory(tenant=tenant, id_tag="TAG-1")
    return reservation_create(
        charge_point=cp,
        connector_id=1,
        id_tag="TAG-1",
        expiry_date=datetime.now(UTC) + timedelta(hours=1),
    )


def test_a_reservation_is_an_event_when_requested_answered_and_cancelled(
    cp: ChargePoint, reserved: Reservation
) -> None:
    answer(last_command(cp, "ReserveNow"), {"status": "Accepted"})
    reservation_cancel(reservation=reserved)
    answer(last_command(cp, "CancelReservation"), {"status": "Accepted"})

    assert reservation_statuses() == ["requested", "accepted", "cancelled"]
    requested = events(EventType.RESERVATION_CHANGED)[0]
    assert requested.charge_point_id == cp.pk
    assert requested.data | {"expiry_date": None} == {
        "reservation_id": reserved.reservation_id,
        "charge_point": "CP-1",
        "connector_id": 1,
        "id_tag": "TAG-1",
        "status": "requested",
        "expiry_date": None,
        "transaction_id": None,
    }


def test_a_refused_reserve_now_is_an_event_and_a_late_cancel_answer_is_none(
    cp: ChargePoint, reserved: Reservation
) -> None:
    answer(last_command(cp, "ReserveNow"), {"status": "Occupied"})
    # A CancelReservation sent by hand for it is accepted: the reservation had already ended.
    cancel = CommandFactory(
        charge_point=cp,
        action="CancelReservation",
        payload={"reservationId": reserved.reservation_id},
    )
    answer(cancel, {"status": "Accepted"})

    assert reservation_statuses() == ["requested", "occupied"]


def test_expiry_is_an_event_for_each_reservation_it_expired(
    cp: ChargePoint, endpoint: WebhookEndpoint
) -> None:
    past = datetime.now(UTC) - timedelta(minutes=1)
    due = [ReservationFactory(charge_point=cp, expiry_date=past) for _ in range(2)]
    ReservationFactory(charge_point=cp)  # not due
    ReservationFactory(charge_point=cp, status="used", expiry_date=past)  # already ended

    assert reservations_expire() == 2
    assert reservations_expire() == 0

    expired = events(EventType.RESERVATION_CHANGED)
    assert sorted(e.data["reservation_id"] for e in expired) == sorted(
        r.reservation_id for r in due
    )
    assert {e.data["status"] for e in expired} == {"expired"}


def test_a_start_transaction_naming_the_reservation_is_a_used_event(
    tenant: Tenant, cp: ChargePoint, endpoint: WebhookEndpoint
) -> None:
    IdTagFactory(tenant=tenant, id_tag="TAG-1")
    reservation = ReservationFactory(charge_point=cp, id_tag="TAG-1", reservation_id=9)
    start = {
        "connector_id": 1,
        "id_tag": "TAG-1",
        "meter_start": 0,
        "timestamp": datetime.now(UTC).isoformat(),
    }

    with transaction.atomic():
        start_transaction(call_context(cp, "StartTransaction"), start)
    with transaction.atomic():
        started = start_transaction(
            call_context(cp, "StartTransaction"), start | {"reservation_id": 9, "meter_start": 5}
        )

    (used,) = events(EventType.RESERVATION_CHANGED)
    assert used.data["reservation_id"] == reservation.reservation_id
    assert (used.data["status"], used.data["transaction_id"]) == ("used", started["transaction_id"])


def test_an_expiry_rolled_back_leaves_no_event(cp: ChargePoint, endpoint: WebhookEndpoint) -> None:
    due = ReservationFactory(charge_point=cp, expiry_date=datetime.now(UTC) - timedelta(minutes=1))

    with pytest.raises(RuntimeError), transaction.atomic():
        reservations_expire()
        raise RuntimeError("the caller failed after the sweep")

    assert events(EventType.RESERVATION_CHANGED) == []
    assert Reservation.objects.get(pk=due.pk).status == "accepted"


def test_another_tenants_endpoint_hears_no_reservation_event(
    other_tenant: Tenant, cp: ChargePoint, make_endpoint: Callable[..., WebhookEndpoint]
) -> None:
    make_endpoint(other_tenant)
    ReservationFactory(charge_point=cp, expiry_date=datetime.now(UTC) - timedelta(minutes=1))

    assert reservations_expire() == 1

    assert Event.objects.count() == 0


# --- Firmware jobs ------------------------------------------------------------------------------


def campaign_for(tenant: Tenant, station: ChargePoint, **options: Any) -> FirmwareUpdate:
    return firmware_update_create(
        tenant=tenant,
        location="https://fw.example.com/2.0.bin",
        firmware_version="2.0",
        charge_point_identities=[station.identity],
        **options,
    )


def tick(minutes: float = 0) -> None:
    firmware_updates_advance(now=timezone.now() + timedelta(minutes=minutes))


def moves() -> list[tuple[str, str]]:
    return [
        (e.data["previous_status"], e.data["status"])
        for e in events(EventType.FIRMWARE_JOB_STATUS_CHANGED)
    ]


def test_each_job_status_change_of_a_campaign_is_an_event(
    tenant: Tenant, cp: ChargePoint, endpoint: WebhookEndpoint
) -> None:
    campaign = campaign_for(tenant, cp)
    tick()
    answer(last_command(cp, "UpdateFirmware"), {})
    for status in ("Downloading", "Downloading", "Downloaded", "Installing", "Installed"):
        firmware_status(cp, status)
    boot(cp, "2.0")

    assert moves() == [
        ("pending", "dispatched"),
        ("dispatched", "accepted"),
        ("accepted", "downloading"),  # the repeated Downloading is no change
        ("downloading", "downloaded"),
        ("downloaded", "installing"),
        ("installing", "installed"),
        ("installed", "verified"),
    ]
    downloading = events(EventType.FIRMWARE_JOB_STATUS_CHANGED)[2]
    assert downloading.charge_point_id == cp.pk
    assert downloading.data == {
        "firmware_update_id": campaign.pk,
        "charge_point": "CP-1",
        "status": "downloading",
        "previous_status": "accepted",
        "last_status": "Downloading",
        "error": "",
    }


def test_failures_retries_and_time_outs_are_events_with_the_error(
    tenant: Tenant, cp: ChargePoint, endpoint: WebhookEndpoint
) -> None:
    campaign_for(tenant, cp, max_attempts=2, attempt_interval=60, status_timeout=600)
    tick()
    answer_error(last_command(cp, "UpdateFirmware"), code="InternalError")  # failure hook
    tick(minutes=2)  # the retry
    answer(last_command(cp, "UpdateFirmware"), {})
    tick(minutes=30)  # silent for longer than status_timeout, no attempt left

    assert moves() == [
        ("pending", "dispatched"),
        ("dispatched", "retry_pending"),
        ("retry_pending", "dispatched"),
        ("dispatched", "accepted"),
        ("accepted", "timed_out"),
    ]
    failed = events(EventType.FIRMWARE_JOB_STATUS_CHANGED)[1]
    assert failed.data["error"] == "failed: UpdateFirmware failed: InternalError boom"
    assert events(EventType.FIRMWARE_JOB_STATUS_CHANGED)[-1].data["error"].startswith("nothing")


def test_window_close_and_cancel_are_events_for_each_job_they_moved(
    tenant: Tenant, endpoint: WebhookEndpoint
) -> None:
    stations = [ChargePointFactory(tenant=tenant, identity=f"CP-{n}") for n in (1, 2, 3)]
    late = firmware_update_create(
        tenant=tenant,
        location="https://fw.example.com/2.0.bin",
        firmware_version="2.0",
        charge_point_identities=["CP-1"],
        starts_at=timezone.now() + timedelta(hours=1),
        expires_at=timezone.now() + timedelta(hours=2),
    )
    firmware_updates_advance(now=timezone.now() + timedelta(hours=3))
    cancelled = firmware_update_create(
        tenant=tenant,
        location="https://fw.example.com/2.0.bin",
        firmware_version="2.0",
        charge_point_identities=["CP-2", "CP-3"],
        batch_size=1,
    )
    tick()  # CP-2 gets UpdateFirmware (queued: offline), CP-3 waits for batch 2

    firmware_update_cancel(campaign=cancelled)

    by_campaign = [
        (e.data["firmware_update_id"], e.data["charge_point"], e.data["status"])
        for e in events(EventType.FIRMWARE_JOB_STATUS_CHANGED)
    ]
    assert by_campaign == [
        (late.pk, "CP-1", "skipped"),
        (cancelled.pk, "CP-2", "dispatched"),
        (cancelled.pk, "CP-2", "cancelled"),
        (cancelled.pk, "CP-3", "cancelled"),
    ]
    withdrawn = last_command(stations[1], "UpdateFirmware")
    assert withdrawn.status == CommandStatus.EXPIRED


def test_a_notification_rolled_back_leaves_no_firmware_event(
    tenant: Tenant, cp: ChargePoint, endpoint: WebhookEndpoint
) -> None:
    campaign_for(tenant, cp)
    tick()
    answer(last_command(cp, "UpdateFirmware"), {})
    before = moves()

    with pytest.raises(RuntimeError), transaction.atomic():
        firmware_status(cp, "Downloading")
        raise RuntimeError("the handler failed after the write")

    assert moves() == before


def test_a_tenant_without_endpoints_gets_no_firmware_event(tenant: Tenant, cp: ChargePoint) -> None:
    campaign_for(tenant, cp)
    tick()
    answer(last_command(cp, "UpdateFirmware"), {})

    assert Event.objects.count() == 0


# --- Diagnostics --------------------------------------------------------------------------------


@pytest.fixture
def media_root(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.CSMS_PUBLIC_URL = "https://csms.example.com/"
    return tmp_path / "media"


def test_a_file_received_by_our_receiver_is_an_uploaded_event_delivered_to_the_integrator(
    tenant: Tenant,
    cp: ChargePoint,
    endpoint: WebhookEndpoint,
    receiver: Receiver,
    media_root: Path,
) -> None:
    request = diagnostics_request_create(tenant=tenant, charge_point=cp)
    answer(last_command(cp, "GetDiagnostics"), {"fileName": "diag.zip"})
    diagnostics_status(cp, "Uploaded")  # the charger's word: the file is not here yet
    assert events(EventType.DIAGNOSTICS_UPLOADED) == []

    response = Client().put(
        f"/uploads/diagnostics/{request.upload_token}/diag.zip",
        b"log line\n",
        content_type="application/zip",
    )
    assert response.status_code == 201

    (uploaded,) = events(EventType.DIAGNOSTICS_UPLOADED)
    assert uploaded.charge_point_id == cp.pk
    assert uploaded.data == {
        "diagnostics_request_id": request.pk,
        "charge_point": "CP-1",
        "status": "received",
        "file_name": "diag.zip",
        "file_size": 9,
        "location": "",
    }
    # The charge point's earlier events (its commands) go first: its events keep their order.
    for delivery_id in Delivery.objects.order_by("id").values_list("pk", flat=True):
        assert delivery_attempt(delivery_id=delivery_id) == Outcome.DELIVERED
    assert receiver.types()[-1] == "diagnostics.uploaded"
    sent = receiver.events()[-1]
    assert sent["data"]["diagnostics_request_id"] == request.pk


def test_uploaded_to_an_external_location_is_an_event_once(
    tenant: Tenant, cp: ChargePoint, endpoint: WebhookEndpoint
) -> None:
    location = "https://logs.example.com/up/"
    request = diagnostics_request_create(tenant=tenant, charge_point=cp, location=location)
    answer(last_command(cp, "GetDiagnostics"), {"fileName": "d.tgz"})
    diagnostics_status(cp, "Uploading")
    diagnostics_status(cp, "Uploaded")
    diagnostics_status(cp, "Uploaded")  # the request has ended: nothing moves

    (uploaded,) = events(EventType.DIAGNOSTICS_UPLOADED)
    assert uploaded.data == {
        "diagnostics_request_id": request.pk,
        "charge_point": "CP-1",
        "status": "uploaded",
        "file_name": "d.tgz",
        "file_size": None,
        "location": location,
    }


def test_an_uploaded_notification_rolled_back_leaves_no_event(
    tenant: Tenant, cp: ChargePoint, endpoint: WebhookEndpoint
) -> None:
    request = diagnostics_request_create(
        tenant=tenant, charge_point=cp, location="https://logs.example.com/up/"
    )
    answer(last_command(cp, "GetDiagnostics"), {"fileName": "d.tgz"})

    with pytest.raises(RuntimeError), transaction.atomic():
        diagnostics_status(cp, "Uploaded")
        raise RuntimeError("the handler failed after the write")

    assert events(EventType.DIAGNOSTICS_UPLOADED) == []
    assert DiagnosticsRequest.objects.get(pk=request.pk).status == "accepted"
