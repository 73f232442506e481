"""Firmware campaigns end to end: the beat tick (called here) queues UpdateFirmware, the real
daphne delivers it to ``ocpp`` charge points, and what they answer, report and boot with moves
their jobs."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from chargepoints.models import ChargePoint, Command
from csms.tenancy.models import Tenant
from firmware.models import FirmwareJob, FirmwareUpdate
from firmware.services.firmware_rollout import firmware_updates_advance
from firmware.services.firmware_updates import firmware_update_create
from firmware.tasks import advance_firmware_updates
from tests.async_orm import orm
from tests.firmware.chargers import charger
from tests.waiting import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

LOCATION = "https://fw.example.com/wallbox-2.0.bin"


async def make_fleet(make_charge_point: Callable[..., ChargePoint], *identities: str) -> None:
    for identity in identities:
        await orm(make_charge_point, identity, firmware_version="1.0")


async def campaign(tenant: Tenant, *identities: str, **options: Any) -> FirmwareUpdate:
    return await orm(
        firmware_update_create,
        tenant=tenant,
        location=LOCATION,
        firmware_version="2.0",
        charge_point_identities=list(identities),
        **options,
    )


async def tick(minutes: float = 0) -> None:
    await orm(firmware_updates_advance, now=timezone.now() + timedelta(minutes=minutes))


async def job_status(identity: str) -> str:
    return await orm(lambda: FirmwareJob.objects.get(charge_point__identity=identity).status)


async def becomes(identity: str, status: str) -> str:
    async def probe() -> str | None:
        current = await job_status(identity)
        return current if current == status else None

    return await eventually(probe) or await job_status(identity)


async def test_charger_downloads_installs_reboots_and_is_verified(
    tenant: Tenant, make_charge_point: Callable[..., ChargePoint], cp_url: Callable[[str], str]
) -> None:
    await make_fleet(make_charge_point, "CP-1")
    await campaign(tenant, "CP-1", retries=2, retry_interval=30)

    async with charger(cp_url("CP-1"), "CP-1") as cp:
        await orm(advance_firmware_updates)  # the beat task
        (update,) = await cp.wait_for("UpdateFirmware")
        assert update["location"] == LOCATION
        assert (update["retries"], update["retryInterval"]) == (2, 30)
        assert await becomes("CP-1", "accepted") == "accepted"

        await cp.notify_firmware("Downloading", "Downloaded", "Installing")
        assert await job_status("CP-1") == "installing"
        await cp.notify_firmware("Installed")
        assert await job_status("CP-1") == "installed"
    # The reboot: a new connection, and its BootNotification shows the new version.
    async with charger(cp_url("CP-1"), "CP-1") as cp:
        assert await cp.boot("2.0") == "Accepted"

    assert await job_status("CP-1") == "verified"
    stored = await orm(ChargePoint.objects.get, identity="CP-1")
    assert stored.firmware_version == "2.0"


async def test_charger_whose_download_fails_ends_download_failed(
    tenant: Tenant, make_charge_point: Callable[..., ChargePoint], cp_url: Callable[[str], str]
) -> None:
    await make_fleet(make_charge_point, "CP-1")
    await campaign(tenant, "CP-1", max_attempts=1)

    async with charger(cp_url("CP-1"), "CP-1") as cp:
        await tick()
        await cp.wait_for("UpdateFirmware")
        await becomes("CP-1", "accepted")
        await cp.notify_firmware("Downloading", "DownloadFailed")

    assert await job_status("CP-1") == "download_failed"


async def test_silent_charger_is_asked_then_times_out(
    tenant: Tenant, make_charge_point: Callable[..., ChargePoint], cp_url: Callable[[str], str]
) -> None:
    await make_fleet(make_charge_point, "CP-1")
    await campaign(tenant, "CP-1", quiet_after=60, status_timeout=600, max_attempts=1)

    async with charger(cp_url("CP-1"), "CP-1") as cp:
        await tick()
        await cp.wait_for("UpdateFirmware")
        await becomes("CP-1", "accepted")

        await tick(minutes=2)
        (trigger,) = await cp.wait_for("TriggerMessage")
        assert trigger == {"requestedMessage": "FirmwareStatusNotification"}
        # It answers the CALL but never reports anything.
        await tick(minutes=11)

    assert await job_status("CP-1") == "timed_out"


async def test_offline_charger_gets_the_update_when_it_returns(
    tenant: Tenant, make_charge_point: Callable[..., ChargePoint], cp_url: Callable[[str], str]
) -> None:
    await make_fleet(make_charge_point, "CP-1")
    await campaign(tenant, "CP-1")
    await tick()
    command = await orm(Command.objects.get, action="UpdateFirmware")
    assert command.status == "queued"

    async with charger(cp_url("CP-1"), "CP-1") as cp:
        await cp.wait_for("UpdateFirmware")
        await becomes("CP-1", "accepted")
        await cp.notify_firmware("Downloading", "Downloaded", "Installing", "Installed")
        assert await cp.boot("2.0") == "Accepted"  # a charger that reboots in place

    assert await job_status("CP-1") == "verified"


async def test_batches_stop_when_the_failure_rate_passes_the_threshold(
    tenant: Tenant, make_charge_point: Callable[..., ChargePoint], cp_url: Callable[[str], str]
) -> None:
    await make_fleet(make_charge_point, "CP-1", "CP-2", "CP-3")
    rollout = await campaign(
        tenant, "CP-1", "CP-2", "CP-3", batch_size=2, failure_threshold=40, max_attempts=1
    )

    async with (
        charger(cp_url("CP-1"), "CP-1") as good,
        charger(cp_url("CP-2"), "CP-2") as bad,
        charger(cp_url("CP-3"), "CP-3") as later,
    ):
        await tick()
        await good.wait_for("UpdateFirmware")
        await bad.wait_for("UpdateFirmware")
        await becomes("CP-1", "accepted")
        await becomes("CP-2", "accepted")

        await good.notify_firmware("Downloading", "Downloaded", "Installing", "Installed")
        assert await good.boot("2.0") == "Accepted"
        await bad.notify_firmware("Downloading", "Downloaded", "Installing", "InstallationFailed")
        await tick()  # batch 1 done: 1 of 2 failed, 50 % > 40 %
        await tick(minutes=1)

        rollout = await orm(FirmwareUpdate.objects.get, pk=rollout.pk)
        assert rollout.status == "stopped"
        assert later.received("UpdateFirmware") == []
        assert not await orm(Command.objects.filter(charge_point__identity="CP-3").exists)
        assert [await job_status(i) for i in ("CP-1", "CP-2", "CP-3")] == [
            "verified",
            "installation_failed",
            "pending",
        ]
