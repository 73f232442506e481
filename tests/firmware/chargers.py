"""A charge point for the firmware e2e tests: the ``ocpp`` package's ChargePoint answering
UpdateFirmware, GetDiagnostics and TriggerMessage, recording every CALL it received. What it
does next (status notifications, uploads, reboots) each test scripts itself."""

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from ocpp.routing import on
from ocpp.v16 import call, call_result
from ocpp.v16.enums import Action

from tests.ocpp_clients import RecordingClient, connected_as, is_offline
from tests.waiting import DELIVERY_TIMEOUT

DIAGNOSTICS_FILE = "diagnostics-CP.log"


class FirmwareCharger(RecordingClient):
    def received(self, action: str) -> list[dict[str, Any]]:
        return self.payloads(action)

    async def wait_for(
        self, action: str, count: int = 1, within: float = DELIVERY_TIMEOUT
    ) -> list[dict[str, Any]]:
        await self.calls_of(action, count, within=within)
        return self.received(action)

    async def notify_firmware(self, *statuses: str) -> None:
        for status in statuses:
            await self.ask(call.FirmwareStatusNotification(status=status))

    async def notify_diagnostics(self, *statuses: str) -> None:
        for status in statuses:
            await self.ask(call.DiagnosticsStatusNotification(status=status))

    async def boot(self, firmware_version: str) -> str:
        answer = await self.ask(
            call.BootNotification(
                charge_point_model="Wallbox 22",
                charge_point_vendor="Acme",
                firmware_version=firmware_version,
            )
        )
        return answer.status

    @on(Action.update_firmware)
    async def on_update_firmware(self, **_: Any) -> Any:
        return call_result.UpdateFirmware()

    @on(Action.get_diagnostics)
    async def on_get_diagnostics(self, **_: Any) -> Any:
        return call_result.GetDiagnostics(file_name=DIAGNOSTICS_FILE)

    @on(Action.trigger_message)
    async def on_trigger_message(self, **_: Any) -> Any:
        return call_result.TriggerMessage(status="Accepted")


@contextlib.asynccontextmanager
async def charger(url: str, identity: str) -> AsyncIterator[FirmwareCharger]:
    """Connected until the block ends; then closed and seen offline by the server."""
    async with connected_as(FirmwareCharger, url, identity) as cp:
        yield cp
    assert await is_offline(identity)
