"""A charge point with a working Local Authorization List and reservations, and how to have one
(or another client class) online: what the local-list, reservation and configuration end-to-end
tests drive against the real daphne (the tenant API over HTTP is in ``http_api``).
"""

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ocpp.routing import on
from ocpp.v16 import call_result
from ocpp.v16.enums import Action

from chargepoints.models import ChargePoint
from tests.e2e.clients import ANSWER_TIMEOUT, Client, eventually, open_socket, orm


@dataclass
class LocalListStore:
    """What firmware keeps: a version and idTag → idTagInfo (OCPP 1.6 §3.5, §5.15)."""

    version: int = 0
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)
    supported: bool = True

    def apply(self, version: int, update_type: str, entries: list[dict[str, Any]]) -> str:
        if not self.supported:
            return "NotSupported"
        if update_type == "Differential" and version <= self.version:
            return "VersionMismatch"
        if update_type == "Full":
            self.entries = {}
        for entry in entries:
            self.entries.pop(entry["id_tag"].lower(), None)
            if entry.get("id_tag_info"):
                self.entries[entry["id_tag"].lower()] = entry["id_tag_info"]
        self.version = version
        return "Accepted"


class LocalAuthChargePoint(Client):
    """Answers GetLocalListVersion/SendLocalList from its own list (unless an answer is
    scripted in ``scripted``), ReserveNow/CancelReservation/GetConfiguration as scripted, and
    records every CALL frame the server sends, as it was on the wire."""

    def __init__(self, identity: str, connection: Any) -> None:
        super().__init__(identity, connection, response_timeout=ANSWER_TIMEOUT)
        self.local_list = LocalListStore()
        self.calls: list[list[Any]] = []
        # Per action, answers to give instead of the natural one, first come first used.
        self.scripted: dict[str, list[dict[str, Any]]] = {}
        self.reserve_answer = "Accepted"
        self.cancel_answer = "Accepted"
        self.configuration: list[dict[str, Any]] = []

    async def route_message(self, raw_msg: str) -> None:
        frame = json.loads(raw_msg)
        if frame[0] == 2:
            self.calls.append(frame)
        await super().route_message(raw_msg)

    def actions(self) -> list[str]:
        return [frame[2] for frame in self.calls]

    def payloads(self, action: str) -> list[dict[str, Any]]:
        return [frame[3] for frame in self.calls if frame[2] == action]

    async def calls_of(self, action: str, count: int, *, within: float = 10) -> list[Any]:
        """The first ``count`` payloads of ``action`` (the server's poller may take a moment)."""
        deadline = time.monotonic() + within
        while len(self.payloads(action)) < count:
            assert time.monotonic() < deadline, f"{self.actions()}: not {count} {action}"
            await asyncio.sleep(0.02)
        return self.payloads(action)[:count]

    def _scripted(self, action: str) -> dict[str, Any] | None:
        queue = self.scripted.get(action)
        return queue.pop(0) if queue else None

    @on(Action.get_local_list_version)
    async def on_get_local_list_version(self, **_: Any) -> Any:
        answer = self._scripted("GetLocalListVersion")
        if answer is not None:
            return call_result.GetLocalListVersion(**answer)
        version = self.local_list.version if self.local_list.supported else -1
        return call_result.GetLocalListVersion(list_version=version)

    @on(Action.send_local_list)
    async def on_send_local_list(
        self, list_version: int, update_type: str, local_authorization_list: Any = None, **_: Any
    ) -> Any:
        answer = self._scripted("SendLocalList")
        if answer is not None:
            return call_result.SendLocalList(**answer)
        status = self.local_list.apply(list_version, update_type, local_authorization_list or [])
        return call_result.SendLocalList(status=status)

    @on(Action.get_configuration)
    async def on_get_configuration(self, **_: Any) -> Any:
        return call_result.GetConfiguration(configuration_key=self.configuration)

    @on(Action.reserve_now)
    async def on_reserve_now(self, **_: Any) -> Any:
        return call_result.ReserveNow(status=self.reserve_answer)

    @on(Action.cancel_reservation)
    async def on_cancel_reservation(self, **_: Any) -> Any:
        return call_result.CancelReservation(status=self.cancel_answer)


async def _is_online(identity: str) -> bool:
    return await orm(ChargePoint.objects.filter(identity=identity, connected=True).exists)


ClientT = TypeVar("ClientT", bound=Client)


@contextlib.asynccontextmanager
async def online_as(client_class: type[ClientT], url: str, identity: str) -> AsyncIterator[ClientT]:
    """A ``client_class`` connected (and seen online by the server); on exit closed and seen
    offline, so the server's clean-up cannot overlap the next test."""
    async with open_socket(url) as ws:
        cp = client_class(identity, ws)
        reader = asyncio.create_task(cp.start())
        try:
            assert await eventually(lambda: _is_online(identity))
            yield cp
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader

    async def offline() -> bool:
        return not await _is_online(identity)

    await eventually(offline)


def online(url: str, identity: str) -> AbstractAsyncContextManager[LocalAuthChargePoint]:
    return online_as(LocalAuthChargePoint, url, identity)


async def until(probe: Callable[[], Awaitable[Any]], *, within: float = 10) -> Any:
    value = await eventually(probe, within=within)
    assert value, "the server did not get there in time"
    return value
