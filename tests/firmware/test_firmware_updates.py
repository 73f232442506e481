"""Firmware campaigns: targets, batches on beat ticks, jobs following the charge point's
notifications, verification by BootNotification, retries, time-outs, pause/resume/cancel and
the failure-rate stop. The tick is called with an explicit ``now`` to move time."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from chargepoints.commands.outbox import expire_due_commands
from chargepoints.models import ChargePoint, CommandStatus
from csms.errors import ConflictError, DomainError
from csms.tenancy.models import Tenant
from firmware.models import FirmwareJob, FirmwareUpdate
from firmware.services.firmware_rollout import firmware_updates_advance
from firmware.services.firmware_updates import (
    firmware_update_cancel,
    firmware_update_create,
    firmware_update_pause,
    firmware_update_resume,
)
from firmware.tasks import advance_firmware_updates
from tests.charge_point_calls import answer
from tests.factories import ChargePointFactory
from tests.firmware.conftest import answer_error, boot, commands, firmware_status

pytestmark = pytest.mark.django_db

LOCATION = "https://fw.example.com/wallbox-2.0.bin"
Fleet = Callable[..., list[ChargePoint]]


def campaign_for(tenant: Tenant, stations: list[ChargePoint], **options: Any) -> FirmwareUpdate:
    return firmware_update_create(
        tenant=tenant,
        location=LOCATION,
        firmware_version="2.0",
        charge_point_identities=[cp.identity for cp in stations],
        **options,
    )


def statuses(campaign: FirmwareUpdate) -> dict[str, str]:
    return dict(campaign.jobs.values_list("charge_point__identity", "status"))


def job_of(station: ChargePoint) -> FirmwareJob:
    return FirmwareJob.objects.get(charge_point=station)


def tick(minutes: float = 0) -> None:
    firmware_updates_advance(now=timezone.now() + timedelta(minutes=minutes))


def dispatched(
    tenant: Tenant, fleet: Fleet, count: int, **options: Any
) -> tuple[list[ChargePoint], FirmwareUpdate]:
    """A campaign for ``count`` new stations, after its first tick."""
    stations = fleet(count)
    campaign = campaign_for(tenant, stations, **options)
    tick()
    return stations, campaign


def dispatched_to_one(
    tenant: Tenant, fleet: Fleet, **options: Any
) -> tuple[ChargePoint, FirmwareUpdate]:
    """A campaign for one new station, its UpdateFirmware queued by the first tick."""
    (station,), campaign = dispatched(tenant, fleet, 1, **options)
    return station, campaign


def accepted_by_one(
    tenant: Tenant, fleet: Fleet, **options: Any
) -> tuple[ChargePoint, FirmwareUpdate]:
    """``dispatched_to_one``, its station having accepted the UpdateFirmware."""
    station, campaign = dispatched_to_one(tenant, fleet, **options)
    accepted_update(station)
    return station, campaign


def assert_status_because(station: ChargePoint, status: str, error: str) -> None:
    job = job_of(station)
    assert job.status == status
    assert error in job.last_error


def assert_ended(station: ChargePoint, status: str) -> None:
    job = job_of(station)
    assert job.status == status
    assert job.finished_at is not None


def accepted_update(station: ChargePoint) -> None:
    """The charge point answers its (last) UpdateFirmware."""
    answer(commands(station, "UpdateFirmware")[-1], {})


def installs(station: ChargePoint, version: str = "2.0") -> None:
    for status in ("Downloading", "Downloaded", "Installing", "Installed"):
        firmware_status(station, status)
    boot(station, version)


# --- Targets ------------------------------------------------------------------------------------


def test_explicit_targets_are_batched_in_identity_order(tenant: Tenant, fleet: Fleet) -> None:
    stations = fleet(5)
    campaign = campaign_for(tenant, list(reversed(stations)), batch_size=2)

    batches = dict(campaign.jobs.values_list("charge_point__identity", "batch"))
    assert batches == {"CP-01": 1, "CP-02": 1, "CP-03": 2, "CP-04": 2, "CP-05": 3}
    assert set(statuses(campaign).values()) == {"pending"}


def test_filter_targets_by_vendor_model_and_version_within_the_tenant(
    tenant: Tenant, other_tenant: Tenant
) -> None:
    wanted = ChargePointFactory(tenant=tenant, identity="A", vendor="Acme", firmware_version="1.0")
    ChargePointFactory(tenant=tenant, identity="B", vendor="Other", firmware_version="1.0")
    ChargePointFactory(tenant=tenant, identity="C", vendor="Acme", firmware_version="0.9")
    ChargePointFactory(tenant=other_tenant, identity="D", vendor="Acme", firmware_version="1.0")

    campaign = firmware_update_create(
        tenant=tenant,
        location=LOCATION,
        firmware_version="2.0",
        filter_vendor="Acme",
        filter_firmware_version="1.0",
    )

    assert [job.charge_point for job in campaign.jobs.all()] == [wanted]


def test_charge_point_already_on_the_target_version_is_skipped(
    tenant: Tenant, fleet: Fleet
) -> None:
    old, current = fleet(2)
    ChargePoint.objects.filter(pk=current.pk).update(firmware_version="2.0")

    campaign = campaign_for(tenant, [old, current])

    assert statuses(campaign) == {"CP-01": "pending", "CP-02": "skipped"}


@pytest.mark.parametrize(
    "targets",
    [
        pytest.param({"charge_point_identities": ["CP-THEIRS"]}, id="another-tenants-identity"),
        pytest.param({}, id="neither-list-nor-filter"),
        pytest.param({"filter_model": "Nope"}, id="filter-matches-nothing"),
    ],
)
def test_campaign_without_valid_targets_is_refused_and_nothing_stored(
    tenant: Tenant, other_tenant: Tenant, fleet: Fleet, targets: dict[str, Any]
) -> None:
    fleet(1)
    ChargePointFactory(tenant=other_tenant, identity="CP-THEIRS")

    with pytest.raises(DomainError):
        firmware_update_create(tenant=tenant, location=LOCATION, firmware_version="2.0", **targets)
    assert not FirmwareUpdate.objects.exists()


def test_location_must_be_a_download_url(tenant: Tenant, fleet: Fleet) -> None:
    with pytest.raises(DomainError, match="location"):
        firmware_update_create(
            tenant=tenant,
            location="file:///etc/passwd",
            firmware_version="2.0",
            charge_point_identities=[cp.identity for cp in fleet(1)],
        )


# --- Rollout ------------------------------------------------------------------------------------


def test_beat_schedule_exists_for_the_rollout_tick() -> None:
    task = PeriodicTask.objects.get(task="firmware.advance_firmware_updates")
    assert task.enabled
    assert (task.interval.every, task.interval.period) == (1, "minutes")


def test_first_batch_goes_out_when_the_campaign_is_created(
    tenant: Tenant, fleet: Fleet, django_capture_on_commit_callbacks: Any
) -> None:
    stations = fleet(3)
    with django_capture_on_commit_callbacks(execute=True):
        campaign = campaign_for(tenant, stations, batch_size=2)

    assert statuses(campaign) == {"CP-01": "dispatched", "CP-02": "dispatched", "CP-03": "pending"}


def test_update_firmware_carries_the_campaigns_fields_and_lives_as_long_as_its_window(
    tenant: Tenant, fleet: Fleet
) -> None:
    (station,) = fleet(1)
    retrieve = datetime(2030, 1, 2, 3, 0, tzinfo=UTC)
    campaign = campaign_for(tenant, [station], retrieve_date=retrieve, retries=3, retry_interval=60)

    advance_firmware_updates()  # the beat task itself

    (command,) = commands(station, "UpdateFirmware")
    assert command.payload == {
        "location": LOCATION,
        "retrieveDate": "2030-01-02T03:00:00Z",
        "retries": 3,
        "retryInterval": 60,
    }
    assert command.status == CommandStatus.QUEUED  # offline: delivered when it returns
    assert abs((command.expires_at - campaign.expires_at).total_seconds()) < 5
    assert command.requested_by_job == f"firmware-update:{campaign.pk}"
    job = job_of(station)
    assert (job.status, job.attempts, job.command) == ("dispatched", 1, command)


def test_batches_roll_out_one_after_another_with_the_pause_between(
    tenant: Tenant, fleet: Fleet
) -> None:
    stations = fleet(5)
    campaign = campaign_for(tenant, stations, batch_size=2, batch_pause=600)

    tick()
    tick()  # nothing new while the batch is under way
    assert statuses(campaign) == {
        "CP-01": "dispatched", "CP-02": "dispatched",
        "CP-03": "pending", "CP-04": "pending", "CP-05": "pending",
    }  # fmt: skip
    for station in stations[:2]:
        accepted_update(station)
        installs(station)

    tick()  # batch 1 done: the pause starts
    assert statuses(campaign)["CP-03"] == "pending"
    tick(minutes=9)
    assert statuses(campaign)["CP-03"] == "pending"
    tick(minutes=11)
    assert statuses(campaign) == {
        "CP-01": "verified", "CP-02": "verified",
        "CP-03": "dispatched", "CP-04": "dispatched", "CP-05": "pending",
    }  # fmt: skip
    campaign.refresh_from_db()
    assert campaign.current_batch == 2


def test_max_in_flight_caps_a_batch(tenant: Tenant, fleet: Fleet) -> None:
    stations = fleet(4)
    campaign = campaign_for(tenant, stations, batch_size=4, max_in_flight=2)

    tick()
    assert list(statuses(campaign).values()).count("dispatched") == 2
    accepted_update(stations[0])
    installs(stations[0])

    tick()
    assert statuses(campaign) == {
        "CP-01": "verified",
        "CP-02": "dispatched",
        "CP-03": "dispatched",
        "CP-04": "pending",
    }


def test_campaign_completes_when_every_job_is_done(tenant: Tenant, fleet: Fleet) -> None:
    stations, campaign = dispatched(tenant, fleet, 2)
    for station in stations:
        accepted_update(station)
        installs(station)

    tick()

    campaign.refresh_from_db()
    assert campaign.status == "completed"
    assert campaign.finished_at is not None


# --- Following the charge point ----------------------------------------------------------------


def test_status_notifications_move_the_job_and_the_boot_verifies_it(
    tenant: Tenant, fleet: Fleet
) -> None:
    station, _ = accepted_by_one(tenant, fleet)
    assert job_of(station).status == "accepted"

    seen = []
    for status in ("Downloading", "Downloaded", "Installing", "Installed"):
        firmware_status(station, status)
        seen.append((job_of(station).status, job_of(station).last_status))
    assert seen == [
        ("downloading", "Downloading"),
        ("downloaded", "Downloaded"),
        ("installing", "Installing"),
        ("installed", "Installed"),
    ]

    assert boot(station, "2.0") == "Accepted"
    assert_ended(station, "verified")


def test_reboot_with_the_old_version_after_installed_is_a_version_mismatch(
    tenant: Tenant, fleet: Fleet
) -> None:
    station, _ = accepted_by_one(tenant, fleet, max_attempts=1)

    boot(station, "1.0")  # a reboot while downloading says nothing yet
    assert job_of(station).status == "accepted"
    installs(station, version="1.0")

    assert_status_because(station, "version_mismatch", "'1.0'")


def test_idle_answer_keeps_the_status_but_counts_as_news(tenant: Tenant, fleet: Fleet) -> None:
    station, _ = accepted_by_one(tenant, fleet)
    firmware_status(station, "Downloading")
    later = timezone.now() + timedelta(minutes=5)

    firmware_status(station, "Idle", at=later)

    job = job_of(station)
    assert (job.status, job.last_status, job.last_heard_at) == ("downloading", "Idle", later)


def test_notification_without_a_campaign_is_only_recorded(fleet: Fleet) -> None:
    (station,) = fleet(1)
    firmware_status(station, "Downloading")
    assert station.status_reports.get().status == "Downloading"


def test_download_failed_is_retried_after_the_interval(tenant: Tenant, fleet: Fleet) -> None:
    station, _ = accepted_by_one(tenant, fleet, max_attempts=2, attempt_interval=300)
    firmware_status(station, "Downloading")
    firmware_status(station, "DownloadFailed")

    job = job_of(station)
    assert job.status == "retry_pending"
    assert job.last_error.startswith("download_failed")
    tick(minutes=4)
    assert len(commands(station, "UpdateFirmware")) == 1

    tick(minutes=6)
    job = job_of(station)
    assert (job.status, job.attempts) == ("dispatched", 2)
    assert len(commands(station, "UpdateFirmware")) == 2

    accepted_update(station)
    firmware_status(station, "DownloadFailed")  # no attempts left
    assert_ended(station, "download_failed")


def test_charger_retrying_by_itself_after_download_failed_is_followed(
    tenant: Tenant, fleet: Fleet
) -> None:
    station, _ = accepted_by_one(tenant, fleet, retries=2)
    firmware_status(station, "DownloadFailed")
    firmware_status(station, "Downloading")  # UpdateFirmware.retries at work

    job = job_of(station)
    assert (job.status, job.next_attempt_at) == ("downloading", None)


def test_refused_command_fails_the_attempt_with_its_error(tenant: Tenant, fleet: Fleet) -> None:
    station, _ = dispatched_to_one(tenant, fleet, max_attempts=1)
    answer_error(commands(station, "UpdateFirmware")[0], code="NotSupported")

    tick()

    assert_status_because(station, "failed", "NotSupported")


def test_offline_charge_point_that_never_returns_in_the_window_fails_undelivered(
    tenant: Tenant, fleet: Fleet
) -> None:
    station, campaign = dispatched_to_one(tenant, fleet, max_attempts=1)
    command = commands(station, "UpdateFirmware")[0]
    # The window passed: the outbox expires the command, the tick settles the job.
    type(command).objects.filter(pk=command.pk).update(expires_at=timezone.now())
    expire_due_commands()

    tick()

    assert_status_because(station, "failed", "offline")
    campaign.refresh_from_db()
    assert campaign.status == "completed"


def test_refused_update_firmware_waits_for_its_retry_without_a_tick(
    tenant: Tenant, fleet: Fleet
) -> None:
    station, _ = dispatched_to_one(tenant, fleet, max_attempts=2, attempt_interval=300)

    answer_error(commands(station, "UpdateFirmware")[0], code="NotSupported")

    job = job_of(station)
    assert job.status == "retry_pending"
    assert job.next_attempt_at is not None
    assert "NotSupported" in job.last_error


def test_expired_update_firmware_fails_the_job_without_a_tick(tenant: Tenant, fleet: Fleet) -> None:
    station, _ = dispatched_to_one(tenant, fleet, max_attempts=1)
    command = commands(station, "UpdateFirmware")[0]
    type(command).objects.filter(pk=command.pk).update(expires_at=timezone.now())

    expire_due_commands()

    job = job_of(station)
    assert (job.status, job.last_error) == (
        "failed",
        "UpdateFirmware was not delivered: the charge point stayed offline",
    )
    assert job.finished_at is not None


def test_boot_on_the_target_version_withdraws_the_queued_update_and_verifies_the_job(
    tenant: Tenant, fleet: Fleet
) -> None:
    (station,) = fleet(1)
    campaign_for(tenant, [station])
    tick()  # the charge point is offline: UpdateFirmware stays queued

    boot(station, "2.0")

    assert job_of(station).status == "verified"
    withdrawn = commands(station, "UpdateFirmware")[0]
    assert withdrawn.status == CommandStatus.EXPIRED
    assert withdrawn.error_description == "Withdrawn: already runs the version"


def test_quiet_job_is_asked_then_times_out(tenant: Tenant, fleet: Fleet) -> None:
    station, _ = accepted_by_one(
        tenant, fleet, quiet_after=600, status_timeout=3600, max_attempts=1
    )

    tick(minutes=5)
    assert commands(station, "TriggerMessage") == []
    tick(minutes=11)
    (trigger,) = commands(station, "TriggerMessage")
    assert trigger.payload == {"requestedMessage": "FirmwareStatusNotification"}
    tick(minutes=15)  # asked 4 minutes ago: not again yet
    assert len(commands(station, "TriggerMessage")) == 1

    tick(minutes=61)
    assert_status_because(station, "timed_out", "nothing heard")


def test_late_boot_with_the_new_version_rescues_a_timed_out_job(
    tenant: Tenant, fleet: Fleet
) -> None:
    station, _ = accepted_by_one(tenant, fleet, status_timeout=60, max_attempts=1)
    tick(minutes=2)
    assert job_of(station).status == "timed_out"

    boot(station, "2.0")

    assert job_of(station).status == "verified"


def test_installed_job_that_goes_quiet_is_asked_for_a_boot_notification(
    tenant: Tenant, fleet: Fleet
) -> None:
    station, _ = accepted_by_one(tenant, fleet, quiet_after=60)
    for status in ("Downloading", "Downloaded", "Installing", "Installed"):
        firmware_status(station, status)

    tick(minutes=2)

    (trigger,) = commands(station, "TriggerMessage")
    assert trigger.payload == {"requestedMessage": "BootNotification"}


def test_silence_before_the_retrieve_date_is_expected(tenant: Tenant, fleet: Fleet) -> None:
    (station,) = fleet(1)
    retrieve = timezone.now() + timedelta(hours=5)
    campaign_for(tenant, [station], retrieve_date=retrieve, quiet_after=60, status_timeout=600)
    tick()
    accepted_update(station)

    tick(minutes=4 * 60)

    assert job_of(station).status == "accepted"
    assert commands(station, "TriggerMessage") == []


# --- Pause, resume, cancel, stop ----------------------------------------------------------------


def test_paused_campaign_sends_nothing_new_but_follows_what_was_sent(
    tenant: Tenant, fleet: Fleet
) -> None:
    stations, campaign = dispatched(tenant, fleet, 2, batch_size=1)
    firmware_update_pause(campaign=campaign)
    accepted_update(stations[0])
    installs(stations[0])

    tick(minutes=1)
    assert statuses(campaign) == {"CP-01": "verified", "CP-02": "pending"}

    firmware_update_resume(campaign=campaign)
    tick(minutes=2)
    assert statuses(campaign) == {"CP-01": "verified", "CP-02": "dispatched"}


def test_cancel_withdraws_queued_updates_and_follows_accepted_ones(
    tenant: Tenant, fleet: Fleet
) -> None:
    stations, campaign = dispatched(tenant, fleet, 3, batch_size=2)
    accepted_update(stations[0])  # CP-02 is offline: its UpdateFirmware is still queued

    firmware_update_cancel(campaign=campaign)

    assert statuses(campaign) == {"CP-01": "accepted", "CP-02": "cancelled", "CP-03": "cancelled"}
    withdrawn = commands(stations[1], "UpdateFirmware")[0]
    assert withdrawn.status == CommandStatus.EXPIRED
    assert withdrawn.error_description.startswith("Withdrawn")
    campaign.refresh_from_db()
    assert (campaign.status, campaign.finished_at) == ("cancelled", None)

    installs(stations[0])
    tick()
    campaign.refresh_from_db()
    assert statuses(campaign)["CP-01"] == "verified"
    assert campaign.status == "cancelled"
    assert campaign.finished_at is not None


def test_cancelled_job_is_not_retried(tenant: Tenant, fleet: Fleet) -> None:
    station, campaign = accepted_by_one(tenant, fleet, max_attempts=3, attempt_interval=0)
    firmware_update_cancel(campaign=campaign)

    firmware_status(station, "DownloadFailed")
    tick(minutes=1)

    assert job_of(station).status == "download_failed"
    assert len(commands(station, "UpdateFirmware")) == 1


@pytest.mark.parametrize(
    ("service", "from_status"),
    [
        (firmware_update_pause, "paused"),
        (firmware_update_resume, "running"),
        (firmware_update_cancel, "completed"),
        (firmware_update_pause, "cancelled"),
    ],
)
def test_transition_from_the_wrong_status_is_a_conflict(
    tenant: Tenant, fleet: Fleet, service: Callable[..., FirmwareUpdate], from_status: str
) -> None:
    campaign = campaign_for(tenant, fleet(1))
    FirmwareUpdate.objects.filter(pk=campaign.pk).update(status=from_status)

    with pytest.raises(ConflictError):
        service(campaign=campaign)
    campaign.refresh_from_db()
    assert campaign.status == from_status


def test_failure_rate_above_the_threshold_stops_the_campaign_until_resumed(
    tenant: Tenant, fleet: Fleet
) -> None:
    stations, campaign = dispatched(
        tenant, fleet, 4, batch_size=2, failure_threshold=40, max_attempts=1
    )
    accepted_update(stations[0])
    installs(stations[0])
    accepted_update(stations[1])
    firmware_status(stations[1], "InstallationFailed")  # 1 of 2 = 50 % > 40 %

    tick()
    tick(minutes=5)

    campaign.refresh_from_db()
    assert campaign.status == "stopped"
    assert statuses(campaign) == {
        "CP-01": "verified",
        "CP-02": "installation_failed",
        "CP-03": "pending",
        "CP-04": "pending",
    }
    assert campaign.finished_at is None

    firmware_update_resume(campaign=campaign)
    tick(minutes=6)
    assert statuses(campaign)["CP-03"] == statuses(campaign)["CP-04"] == "dispatched"


def test_failure_rate_at_the_threshold_goes_on(tenant: Tenant, fleet: Fleet) -> None:
    stations, campaign = dispatched(
        tenant, fleet, 4, batch_size=2, failure_threshold=50, max_attempts=1
    )
    accepted_update(stations[0])
    installs(stations[0])
    accepted_update(stations[1])
    firmware_status(stations[1], "DownloadFailed")

    tick()

    campaign.refresh_from_db()
    assert campaign.status == "running"
    assert statuses(campaign)["CP-03"] == "dispatched"


def test_window_close_skips_what_was_never_sent(tenant: Tenant, fleet: Fleet) -> None:
    stations, campaign = dispatched(
        tenant, fleet, 2, batch_size=1, expires_at=timezone.now() + timedelta(hours=1)
    )
    accepted_update(stations[0])
    installs(stations[0])

    tick(minutes=61)

    assert statuses(campaign) == {"CP-01": "verified", "CP-02": "skipped"}
    campaign.refresh_from_db()
    assert campaign.status == "completed"


def test_charge_point_busy_in_another_campaign_waits_its_turn(tenant: Tenant, fleet: Fleet) -> None:
    station, first = dispatched_to_one(tenant, fleet)
    second = firmware_update_create(
        tenant=tenant,
        location=LOCATION,
        firmware_version="3.0",
        charge_point_identities=[station.identity],
    )

    tick()
    assert statuses(second) == {"CP-01": "pending"}

    accepted_update(station)
    installs(station)
    tick()
    assert statuses(first) == {"CP-01": "verified"}
    assert statuses(second) == {"CP-01": "dispatched"}
