"""A charge point with a working Local Authorization List and reservations, and how to have one
(or another client class) online: what the local-list, reservation and configuration end-to-end
tests drive against the real daphne (the tenant API over HTTP is in ``tests.http_clients``).
"""

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any

from ocpp.routing import on
from ocpp.v16 import call_result
from ocpp.v16.enums import Action

from tests.ocpp_clients import ClientT, RecordingClient, connected_as


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


class LocalAuthChargePoint(RecordingClient):
    """Answers GetLocalListVersion/SendLocalList from its own list (unless an answer is
    scripted in ``scripted``), ReserveNow/CancelReservation/ClearCache/GetConfiguration as
    scripted, and
    records every CALL frame the server sends, as it was on the wire."""

    def __init__(self, identity: str, connection: Any) -> None:
        super().__init__(identity, connection)
        self.local_list = LocalListStore()
        # Per action, answers to give instead of the natural one, first come first used.
        self.scripted: dict[str, list[dict[str, Any]]] = {}
        self.reserve_answer = "Accepted"
        self.cancel_answer = "Accepted"
        self.clear_cache_answer = "Accepted"
        self.configuration: list[dict[str, Any]] = []

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

    @on(Action.clear_cache)
    async def on_clear_cache(self, **_: Any) -> Any:
        """OCPP 1.6 §5.4: Accepted once its Authorization Cache is empty (as scripted)."""
        answer = self._scripted("ClearCache")
        return call_result.ClearCache(**(answer or {"status": self.clear_cache_answer}))

    @on(Action.get_configuration)
    async def on_get_configuration(self, **_: Any) -> Any:
        return call_result.GetConfiguration(configuration_key=self.configuration)

    @on(Action.reserve_now)
    async def on_reserve_now(self, **_: Any) -> Any:
        return call_result.ReserveNow(status=self.reserve_answer)

    @on(Action.cancel_reservation)
    async def on_cancel_reservation(self, **_: Any) -> Any:
        return call_result.CancelReservation(status=self.cancel_answer)


def online_as(
    client_class: type[ClientT], url: str, identity: str
) -> AbstractAsyncContextManager[ClientT]:
    """A ``client_class`` connected and seen online by the server; on exit closed and seen
    offline, so the server's clean-up cannot overlap the next test."""
    return connected_as(client_class, url, identity, seen_online=True)


def online(url: str, identity: str) -> AbstractAsyncContextManager[LocalAuthChargePoint]:
    return online_as(LocalAuthChargePoint, url, identity)
