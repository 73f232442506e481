"""A small fleet of real OCPP clients running charging sessions, as the fault cases need it.

Each charger is the ``ocpp`` package's charge point over a real WebSocket (tests.ocpp_clients):
it boots, starts a transaction and sends MeterValues, one at a time, each with a value of its
own. Like a real charger it keeps a message until it is acknowledged: one refused
(CALLERROR) or unanswered is sent again with the same content (a retry the server must not
store twice), and a dropped socket is reconnected after a short pause. The fleet counts what
the fault must be judged on: sockets dropped, values acknowledged, frames refused, the
Central-System calls it was sent, and when each charger was last acknowledged.
"""

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ocpp.exceptions import OCPPError
from ocpp.routing import on
from ocpp.v16 import call, call_result
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from tests.ocpp_clients import Client, open_socket

RECONNECT_PAUSE = 0.2
RETRY_PAUSE = 0.1


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def boot_request() -> call.BootNotification:
    return call.BootNotification(charge_point_vendor="Faults", charge_point_model="F1")


class FleetClient(Client):
    """Answers the Central System's calls the fault cases send, and keeps them."""

    def __init__(self, identity: str, connection: Any, charger: "Charger") -> None:
        super().__init__(identity, connection)
        self.charger = charger

    @on("DataTransfer")
    def on_data_transfer(self, vendor_id: str, **fields: Any) -> call_result.DataTransfer:
        self.charger.received.append(("DataTransfer", fields.get("message_id", "")))
        return call_result.DataTransfer(status="Accepted")

    @on("ClearCache")
    def on_clear_cache(self) -> call_result.ClearCache:
        self.charger.received.append(("ClearCache", ""))
        return call_result.ClearCache(status="Accepted")


@dataclass
class Charger:
    identity: str
    url: str
    interval: float
    id_tag: str = "TAG-OK"
    transaction_id: int | None = None
    next_value: int = 1
    acknowledged: list[int] = field(default_factory=list)
    refused: int = 0
    unanswered: int = 0
    drops: int = 0
    connects: int = 0
    failed_connects: int = 0
    last_ack_at: float = 0.0
    received: list[tuple[str, str]] = field(default_factory=list)
    connected: bool = False
    pending: tuple[int, str] | None = None  # (value, timestamp) sent, not yet acknowledged

    async def run(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            try:
                async with open_socket(self.url, open_timeout=3) as ws:
                    self.connects += 1
                    self.connected = True
                    client = FleetClient(self.identity, ws, self)
                    reader = asyncio.create_task(client.start())
                    try:
                        await self._session(client, stopping)
                    finally:
                        reader.cancel()
                        with contextlib.suppress(asyncio.CancelledError, Exception):
                            await reader
                    if stopping.is_set():
                        return
            except (ConnectionClosed, InvalidStatus, InvalidHandshake, OSError, TimeoutError):
                if self.connected:
                    self.drops += 1
                else:
                    self.failed_connects += 1
            finally:
                self.connected = False
            await asyncio.sleep(RECONNECT_PAUSE)

    async def _ask(self, client: FleetClient, payload: Any) -> Any:
        """The answer, or None if it was refused or never came; ConnectionClosed as soon as
        the socket is gone (not after the call's time-out)."""
        asked = asyncio.ensure_future(client.ask(payload))
        closed = asyncio.ensure_future(client.ws.wait_closed())
        try:
            await asyncio.wait({asked, closed}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            closed.cancel()
        if not asked.done():
            asked.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asked
            raise ConnectionClosed(None, None)
        try:
            return asked.result()
        except OCPPError:
            self.refused += 1
        except TimeoutError:
            self.unanswered += 1
        return None

    async def _session(self, client: FleetClient, stopping: asyncio.Event) -> None:
        if self.transaction_id is None:
            await self._ask(client, boot_request())
            started, timestamp = None, _now()
            while started is None:  # retried with the same content: the same transaction
                started = await self._ask(
                    client,
                    call.StartTransaction(
                        connector_id=1, id_tag=self.id_tag, meter_start=0, timestamp=timestamp
                    ),
                )
            self.transaction_id = started.transaction_id
        while not stopping.is_set():
            if self.pending is None:
                self.pending = (self.next_value, _now())
            value, timestamp = self.pending
            # The same message until it is acknowledged, across reconnections too.
            while True:
                answer = await self._ask(
                    client,
                    call.MeterValues(
                        connector_id=1,
                        transaction_id=self.transaction_id,
                        meter_value=[
                            {"timestamp": timestamp, "sampled_value": [{"value": str(value)}]}
                        ],
                    ),
                )
                if answer is not None:
                    break
                await asyncio.sleep(RETRY_PAUSE)
            self.pending = None
            self.acknowledged.append(value)
            self.last_ack_at = time.monotonic()
            self.next_value += 1
            await asyncio.sleep(self.interval)


@dataclass
class Fleet:
    chargers: list[Charger]
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def drops(self) -> int:
        return sum(charger.drops for charger in self.chargers)

    @property
    def acknowledged(self) -> int:
        return sum(len(charger.acknowledged) for charger in self.chargers)

    @property
    def refused(self) -> int:
        return sum(charger.refused + charger.unanswered for charger in self.chargers)

    def all_acknowledged_since(self, moment: float) -> bool:
        return all(charger.last_ack_at > moment for charger in self.chargers)

    async def until_all_acknowledged_since(self, moment: float, *, within: float) -> float:
        """Seconds from ``moment`` until every charger had a message acknowledged after it."""
        deadline = time.monotonic() + within
        while not self.all_acknowledged_since(moment):
            if time.monotonic() > deadline:
                late = [c.identity for c in self.chargers if c.last_ack_at <= moment]
                raise AssertionError(f"no acknowledgement within {within} s for {late}")
            await asyncio.sleep(0.01)
        return max(charger.last_ack_at for charger in self.chargers) - moment


@contextlib.asynccontextmanager
async def fleet_running(
    url_of: Any, identities: list[str], *, interval: float = 0.1
) -> AsyncIterator[Fleet]:
    """The fleet, sessions running, until the block ends (then every socket closed)."""
    fleet = Fleet([Charger(identity, url_of(identity), interval) for identity in identities])
    tasks = [asyncio.create_task(charger.run(fleet.stopping)) for charger in fleet.chargers]
    try:
        deadline = time.monotonic() + 15
        while not all(charger.acknowledged for charger in fleet.chargers):
            assert time.monotonic() < deadline, "the fleet did not start its sessions"
            assert not any(task.done() for task in tasks), [t.exception() for t in tasks]
            await asyncio.sleep(0.02)
        yield fleet
    finally:
        fleet.stopping.set()
        done, pending = await asyncio.wait(tasks, timeout=10)
        for task in pending:
            task.cancel()
        for task in done:
            if task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
