"""A charge point for the firmware e2e tests: the ``ocpp`` package's ChargePoint answering
UpdateFirmware, GetDiagnostics and TriggerMessage, recording every CALL it received. What it
does next (status notifications, uploads, reboots) each test scripts itself."""

import asyncio
import contextlib
import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from ocpp.routing import on
from ocpp.v16 import call, call_result
from ocpp.v16.enums import Action

from chargepoints.models import ChargePoint
from tests.e2e.clients import ANSWER_TIMEOUT, Client, eventually, open_socket, orm

# The server polls its outbox every OCPP_OUTBOX_POLL_SECONDS (2 s) when no wake-up reaches it
# (the embedded default: this process's in-memory channel layer cannot reach daphne).
DELIVERY_TIMEOUT = 10.0
DIAGNOSTICS_FILE = "diagnostics-CP.log"


class FirmwareCharger(Client):
    def __init__(self, identity: str, connection: Any) -> None:
        super().__init__(identity, connection, response_timeout=ANSWER_TIMEOUT)
        self.calls: list[tuple[str, dict[str, Any]]] = []

    async def route_message(self, raw_msg: str) -> None:
        frame = json.loads(raw_msg)
        if frame[0] == 2:
            self.calls.append((frame[2], frame[3]))
        await super().route_message(raw_msg)

    def received(self, action: str) -> list[dict[str, Any]]:
        return [payload for name, payload in self.calls if name == action]

    async def wait_for(
        self, action: str, count: int = 1, within: float = DELIVERY_TIMEOUT
    ) -> list[dict[str, Any]]:
        deadline = time.monotonic() + within
        while len(self.received(action)) < count:
            assert time.monotonic() < deadline, f"{self.id}: no {action} (got {self.calls})"
            await asyncio.sleep(0.05)
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


async def is_online(identity: str) -> bool:
    return await orm(ChargePoint.objects.filter(identity=identity, connected=True).exists)


@contextlib.asynccontextmanager
async def charger(url: str, identity: str) -> AsyncIterator[FirmwareCharger]:
    """Connected until the block ends; then closed and seen offline by the server."""
    async with open_socket(url) as ws:
        cp = FirmwareCharger(identity, ws)
        reader = asyncio.create_task(cp.start())
        try:
            yield cp
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader

    async def offline() -> bool:
        return not await is_online(identity)

    assert await eventually(offline)


# --- HTTP -----------------------------------------------------------------------------------------

# The server is on loopback: never through a proxy from the environment.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body)


def _send(request: urllib.request.Request) -> Reply:
    try:
        with _opener.open(request, timeout=30) as response:
            return Reply(response.status, response.read(), dict(response.headers))
    except urllib.error.HTTPError as error:
        return Reply(error.code, error.read(), dict(error.headers))


async def http(
    method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> Reply:
    request = urllib.request.Request(  # noqa: S310 - loopback URL built by the test
        url, method=method, data=body, headers=headers or {}
    )
    return await asyncio.to_thread(_send, request)


def multipart(field: str, file_name: str, content: bytes) -> tuple[bytes, str]:
    """A multipart/form-data body with one file part, as charge point firmwares send it."""
    boundary = uuid.uuid4().hex
    body = (
        (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="{field}"; filename="{file_name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def http_url(ws_url: str) -> str:
    return "http" + ws_url.removeprefix("ws")
