"""Configuration end to end: a tenant's baseline applied to a real charge point after its boot,
the answers it gives (Accepted, RebootRequired, Rejected, NotSupported) recorded and shown by
the API, never a second ChangeConfiguration for a key in one boot; and PATCH of one key.

The charge point is the ``ocpp`` package's ``ChargePoint`` with a configuration store that
behaves like firmware: read-only keys refuse changes, unknown keys are NotSupported, some keys
answer RebootRequired and take effect at the next boot. The e2e daphne has no Celery worker:
the test runs the task the boot enqueued, as the worker would.
"""

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
from ocpp.routing import on
from ocpp.v16 import call, call_result
from ocpp.v16.enums import Action

from chargepoints.configuration.apply import BASELINE_JOB
from chargepoints.models import ChargePoint, Command, ConfigurationApplyState
from chargepoints.tasks import apply_configuration_baseline, apply_configuration_baselines
from tests.async_orm import orm
from tests.e2e.local_auth_charge_point import online_as
from tests.http_clients import WAIT, HttpApi
from tests.ocpp_clients import RecordingClient
from tests.waiting import until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

BASELINE = {
    "name": "Acme wallboxes",
    "vendor": "Acme",
    "entries": [
        {"key": "HeartbeatInterval", "value": "120"},  # Accepted
        {"key": "MeterValueSampleInterval", "value": "30"},  # RebootRequired
        {"key": "ConnectionTimeOut", "value": "45"},  # Rejected
        {"key": "LocalPreAuthorize", "value": "true"},  # already "TRUE": in sync
        {"key": "AcmeLedMode", "value": "eco"},  # unknown to the firmware: NotSupported
    ],
}


class ConfigurableChargePoint(RecordingClient):
    """Keeps key -> [value, readonly]; records every CALL frame the server sends."""

    def __init__(self, identity: str, connection: Any) -> None:
        super().__init__(identity, connection)
        self.configuration: dict[str, list[Any]] = {
            "HeartbeatInterval": ["300", False],
            "MeterValueSampleInterval": ["60", False],
            "ConnectionTimeOut": ["90", False],
            "LocalPreAuthorize": ["TRUE", False],
            "NumberOfConnectors": ["2", True],
        }
        self.reboot_required = {"MeterValueSampleInterval"}
        self.rejected = {"ConnectionTimeOut"}
        self.after_reboot: dict[str, str] = {}

    def changes(self) -> list[tuple[str, str]]:
        return [(f[3]["key"], f[3]["value"]) for f in self.calls if f[2] == "ChangeConfiguration"]

    def reboot(self) -> None:
        for key, value in self.after_reboot.items():
            self.configuration[key][0] = value
        self.after_reboot = {}

    @on(Action.get_configuration)
    async def on_get_configuration(self, key: list[str] | None = None, **_: Any) -> Any:
        wanted = key or list(self.configuration)
        return call_result.GetConfiguration(
            configuration_key=[
                {"key": k, "value": self.configuration[k][0], "readonly": self.configuration[k][1]}
                for k in wanted
                if k in self.configuration
            ],
            unknown_key=[k for k in wanted if k not in self.configuration] or None,
        )

    @on(Action.change_configuration)
    async def on_change_configuration(self, key: str, value: str, **_: Any) -> Any:
        if key not in self.configuration:
            status = "NotSupported"
        elif self.configuration[key][1] or key in self.rejected:
            status = "Rejected"
        elif key in self.reboot_required:
            self.after_reboot[key] = value
            status = "RebootRequired"
        else:
            self.configuration[key][0] = value
            status = "Accepted"
        return call_result.ChangeConfiguration(status=status)


def online(url: str, identity: str) -> AbstractAsyncContextManager[ConfigurableChargePoint]:
    return online_as(ConfigurableChargePoint, url, identity)


async def boot(cp: ConfigurableChargePoint, firmware: str = "1.0.0") -> None:
    answer = await cp.ask(
        call.BootNotification(
            charge_point_vendor="Acme", charge_point_model="Wallbox 22", firmware_version=firmware
        )
    )
    assert answer.status == "Accepted"


async def baseline_run(charge_point: ChargePoint, task: Callable[[], Any]) -> list[Command]:
    """Run ``task`` (what the worker would), wait until its read and every change it queued are
    answered; the commands of this run."""
    before = await orm(lambda: max(Command.objects.values_list("pk", flat=True), default=0))
    assert await orm(task)

    async def finished() -> list[Command] | None:
        def commands() -> list[Command]:
            return list(Command.objects.filter(pk__gt=before).order_by("pk"))

        run = await orm(commands)
        done = run and all(c.status == "completed" for c in run)
        return run if done else None

    return await until(finished)


async def test_a_baseline_is_applied_after_boot_and_each_answer_recorded(
    url: str, http_api: HttpApi, charge_point: ChargePoint
) -> None:
    created = await http_api.post("/configuration-baselines/", BASELINE)
    assert created.status == 201

    async with online(url, "CP-1") as cp:
        await boot(cp)
        run = await baseline_run(
            charge_point, lambda: apply_configuration_baseline(charge_point.pk)
        )

        assert cp.calls[0][2:] == ["GetConfiguration", {}]
        # Every differing key once, in the order of the keys; LocalPreAuthorize was in sync.
        assert cp.changes() == [
            ("AcmeLedMode", "eco"),
            ("ConnectionTimeOut", "45"),
            ("HeartbeatInterval", "120"),
            ("MeterValueSampleInterval", "30"),
        ]
        assert {c.requested_by for c in run} == {f"job:{BASELINE_JOB}"}
        assert cp.configuration["HeartbeatInterval"][0] == "120"
        mirror = await http_api.get("/charge-points/CP-1/configuration/")

        # The beat comes by again in the same boot: it reads, and sends no change twice.
        again = await baseline_run(charge_point, apply_configuration_baselines)
        assert [c.action for c in again] == ["GetConfiguration"]
        assert len(cp.changes()) == 4

    rows = {row["key"]: row for row in mirror.body}
    assert {key: row["drift"] for key, row in rows.items() if row["desired_value"]} == {
        "HeartbeatInterval": "in_sync",
        "MeterValueSampleInterval": "reboot_required",
        "ConnectionTimeOut": "differs",
        "LocalPreAuthorize": "in_sync",
        "AcmeLedMode": "unknown",
    }
    assert {key: row["apply"]["status"] for key, row in rows.items() if row["apply"]} == {
        "HeartbeatInterval": "Accepted",
        "MeterValueSampleInterval": "RebootRequired",
        "ConnectionTimeOut": "Rejected",
        "AcmeLedMode": "NotSupported",
    }
    assert rows["NumberOfConnectors"]["readonly"] is True
    assert rows["NumberOfConnectors"]["catalogue"]["access"] == "R"
    assert rows["ConnectionTimeOut"]["value"] == "90"  # Rejected: what the charge point has


async def test_after_a_reboot_refused_keys_wait_for_new_firmware(
    url: str, http_api: HttpApi, charge_point: ChargePoint
) -> None:
    assert (await http_api.post("/configuration-baselines/", BASELINE)).status == 201
    async with online(url, "CP-1") as cp:
        await boot(cp)
        await baseline_run(charge_point, lambda: apply_configuration_baseline(charge_point.pk))

        # The charge point reboots: the RebootRequired value takes effect; someone set the
        # heartbeat back by hand meanwhile.
        cp.reboot()
        cp.configuration["HeartbeatInterval"][0] = "600"
        await boot(cp)
        await baseline_run(charge_point, lambda: apply_configuration_baseline(charge_point.pk))
        assert cp.changes()[4:] == [("HeartbeatInterval", "120")]

        # New firmware: the Rejected and NotSupported keys are tried once more.
        await boot(cp, firmware="1.1.0")
        await baseline_run(charge_point, lambda: apply_configuration_baseline(charge_point.pk))
        assert cp.changes()[5:] == [("AcmeLedMode", "eco"), ("ConnectionTimeOut", "45")]

    states = await orm(
        lambda: dict(ConfigurationApplyState.objects.values_list("key", "firmware_version"))
    )
    assert states["ConnectionTimeOut"] == "1.1.0"
    assert states["MeterValueSampleInterval"] == "1.0.0"
    mirror = await http_api.get("/charge-points/CP-1/configuration/")
    rows = {row["key"]: row for row in mirror.body}
    assert rows["MeterValueSampleInterval"]["drift"] == "in_sync"


async def test_patch_of_one_key_through_the_outbox(
    url: str, http_api: HttpApi, other_http_api: HttpApi, charge_point: ChargePoint
) -> None:
    async with online(url, "CP-1") as cp:
        changed = await http_api.patch(
            f"/charge-points/CP-1/configuration/?wait={WAIT}",
            {"key": "HeartbeatInterval", "value": "90"},
        )
        refused = await http_api.patch(
            "/charge-points/CP-1/configuration/",
            {"key": "MeterValuesSampledData", "value": "Energy.Active.Import.Register,Smell"},
        )
        foreign = await other_http_api.patch(
            "/charge-points/CP-1/configuration/", {"key": "HeartbeatInterval", "value": "1"}
        )
        rejected = await http_api.patch(
            f"/charge-points/CP-1/configuration/?wait={WAIT}",
            {"key": "ConnectionTimeOut", "value": "10"},
        )

    assert changed.status == 201
    assert (changed.body["status"], changed.body["response"]) == (
        "completed",
        {"status": "Accepted"},
    )
    assert cp.configuration["HeartbeatInterval"][0] == "90"
    assert refused.status == 400
    assert refused.body["detail"].startswith("MeterValuesSampledData: 'Smell' is not a measurand")
    assert foreign.status == 404
    assert rejected.body["response"] == {"status": "Rejected"}
    assert cp.changes() == [("HeartbeatInterval", "90"), ("ConnectionTimeOut", "10")]
    mirror = {
        row["key"]: row for row in (await http_api.get("/charge-points/CP-1/configuration/")).body
    }
    assert (
        mirror["HeartbeatInterval"]["value"],
        mirror["HeartbeatInterval"]["last_change_status"],
    ) == (
        "90",
        "Accepted",
    )
    assert mirror["ConnectionTimeOut"]["last_change_status"] == "Rejected"
    assert (await other_http_api.get("/charge-points/CP-1/configuration/")).status == 404
