"""A reconnect storm: many charge points connecting at once, each replaying the transaction it
queued during an outage, in raw OCPP-J frames.

Each charger boots, then sends its queue in order: StartTransaction, MeterValues with values
of its own (carrying the transactionId it was given), StopTransaction. As a charger does
(OCPP 1.6 §4.7 "Queuing" and §5 of OCPP-J), it keeps a message until it is acknowledged: one
whose answer was lost (the socket dropped, no answer in time, a CALLERROR) is sent again with
the same content and a new message id, after a reconnect and a new BootNotification if the
socket is gone. The charger records what the fault is judged on: which messages were
acknowledged, and whether one was outstanding when the test noted a moment.

A charger can be made deaf to the answer of its first StartTransaction: it sends it and reads
nothing more until the socket closes (or ``DEAF_FOR`` passes), as if the answer had been in
flight when the server died. A kill then surely has a stored StartTransaction whose answer
the charger never got, instead of the few milliseconds between a commit and its answers
that a kill at a random moment rarely hits.
"""

import asyncio
import contextlib
import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from tests.ocpp_clients import open_socket

RECONNECT_PAUSE = 0.2
RETRY_PAUSE = 0.1
# Under a storm on a small machine an answer can be slow; past this it is taken as lost.
ANSWER_WITHIN = 10.0
DEAF_FOR = 30.0
METER_VALUES_PER_TRANSACTION = 3
WH_PER_METER_VALUE = 100


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Queued:
    """A message the charger queued: its content is fixed, only its message id changes."""

    action: str
    payload: dict[str, Any]
    tries: int = 0
    answer: dict[str, Any] | None = None


@dataclass
class StormCharger:
    identity: str
    url: str
    number: int
    id_tag: str = "TAG-OK"
    deaf_to_first_start: bool = False
    queue: list[Queued] = field(default_factory=list)
    transaction_id: int | None = None
    outstanding: Queued | None = None  # sent, its answer not yet come
    connects: int = 0
    drops: int = 0
    failed_connects: int = 0
    resent: int = 0
    finished_at: float = 0.0

    def __post_init__(self) -> None:
        # The outage's session, stamped in the past as the charger recorded it.
        began = datetime.now(UTC) - timedelta(minutes=10)
        self.queue.append(
            Queued(
                "StartTransaction",
                {"connectorId": 1, "idTag": self.id_tag, "meterStart": 0, "timestamp": _iso(began)},
            )
        )
        for step in range(1, METER_VALUES_PER_TRANSACTION + 1):
            sampled = [{"value": str(self.meter_value(step))}]
            stamp = _iso(began + timedelta(minutes=step))
            self.queue.append(
                Queued(
                    "MeterValues",
                    {
                        "connectorId": 1,
                        "meterValue": [{"timestamp": stamp, "sampledValue": sampled}],
                    },
                )
            )
        self.queue.append(
            Queued(
                "StopTransaction",
                {
                    "meterStop": self.meter_stop,
                    "timestamp": _iso(began + timedelta(minutes=METER_VALUES_PER_TRANSACTION + 1)),
                    "reason": "Local",
                },
            )
        )

    def meter_value(self, step: int) -> int:
        """The register at ``step``: rising, one value per message of this charger."""
        return step * WH_PER_METER_VALUE

    @property
    def meter_stop(self) -> int:
        return (METER_VALUES_PER_TRANSACTION + 1) * WH_PER_METER_VALUE

    @property
    def acknowledged(self) -> list[Queued]:
        return [message for message in self.queue if message.answer is not None]

    @property
    def acknowledged_values(self) -> list[int]:
        return [
            int(message.payload["meterValue"][0]["sampledValue"][0]["value"])
            for message in self.acknowledged
            if message.action == "MeterValues"
        ]

    @property
    def done(self) -> bool:
        return all(message.answer is not None for message in self.queue)

    async def run(self) -> None:
        while not self.done:
            connected = False
            try:
                async with open_socket(self.url, open_timeout=ANSWER_WITHIN) as ws:
                    connected = True
                    self.connects += 1
                    await self._session(ws)
            except (ConnectionClosed, InvalidStatus, InvalidHandshake, OSError, TimeoutError):
                if connected:
                    self.drops += 1
                else:
                    self.failed_connects += 1
            if not self.done:
                await asyncio.sleep(RECONNECT_PAUSE)
        self.finished_at = time.monotonic()

    async def _session(self, ws: Any) -> None:
        boot = {"chargePointVendor": "Storm", "chargePointModel": "S1"}
        for _ in range(100):
            if await self._call(ws, "BootNotification", boot) is not None:
                break
            await asyncio.sleep(RETRY_PAUSE)
        for message in self.queue:
            while message.answer is None:
                self.outstanding = message
                unheard = self.deaf_to_first_start and message.action == "StartTransaction"
                unheard = unheard and message.tries == 0
                content = self._content(message)
                try:
                    if unheard:
                        await self._send_unheard(ws, message.action, content)
                    else:
                        message.answer = await self._call(ws, message.action, content)
                finally:
                    self.outstanding = None
                if message.answer is None:
                    await asyncio.sleep(RETRY_PAUSE)
            if message.action == "StartTransaction":
                self.transaction_id = message.answer["transactionId"]
        await ws.close()

    def _content(self, message: Queued) -> dict[str, Any]:
        message.tries += 1
        if message.tries > 1:
            self.resent += 1
        if message.action == "StartTransaction":
            return message.payload
        return {**message.payload, "transactionId": self.transaction_id}

    async def _send_unheard(self, ws: Any, action: str, payload: dict[str, Any]) -> None:
        """Send a CALL and hear nothing until the socket is gone (ConnectionClosed), or
        ``DEAF_FOR`` has passed and the answer is taken as lost."""
        await ws.send(json.dumps([2, uuid.uuid4().hex, action, payload]))
        deadline = time.monotonic() + DEAF_FOR
        while (remaining := deadline - time.monotonic()) > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ws.recv(), remaining)

    async def _call(self, ws: Any, action: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        """The CALLRESULT's payload; None for a CALLERROR or no answer in time;
        ConnectionClosed when the socket is gone."""
        message_id = uuid.uuid4().hex
        await ws.send(json.dumps([2, message_id, action, payload]))
        deadline = time.monotonic() + ANSWER_WITHIN
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            try:
                frame = json.loads(await asyncio.wait_for(ws.recv(), remaining))
            except TimeoutError:
                return None
            if frame[0] == 2:  # a call of the Central System's: not what this charger supports
                await ws.send(json.dumps([4, frame[1], "NotSupported", "", {}]))
            elif frame[1] == message_id:
                return frame[2] if frame[0] == 3 else None


@dataclass
class Storm:
    chargers: list[StormCharger]
    tasks: list["asyncio.Task[None]"] = field(default_factory=list)

    @property
    def acknowledged(self) -> int:
        return sum(len(charger.acknowledged) for charger in self.chargers)

    @property
    def queued(self) -> int:
        return sum(len(charger.queue) for charger in self.chargers)

    @property
    def outstanding(self) -> int:
        return sum(charger.outstanding is not None for charger in self.chargers)

    def deaf_no_more(self) -> None:
        """From now on every charger hears its answers: those deaf until now whose
        StartTransaction was not yet sent send it as the others do."""
        for charger in self.chargers:
            charger.deaf_to_first_start = False

    @property
    def finished(self) -> int:
        return sum(charger.done for charger in self.chargers)

    async def until_acknowledged(self, count: int, *, within: float) -> None:
        deadline = time.monotonic() + within
        while self.acknowledged < count:
            assert time.monotonic() < deadline, f"{self.acknowledged}/{count} acknowledged"
            self._no_crash()
            await asyncio.sleep(0.005)

    async def until_finished(self, *, within: float) -> None:
        deadline = time.monotonic() + within
        while self.finished < len(self.chargers):
            assert time.monotonic() < deadline, (
                f"{self.finished}/{len(self.chargers)} chargers finished their queue"
            )
            self._no_crash()
            await asyncio.sleep(0.02)

    def _no_crash(self) -> None:
        for task in self.tasks:
            if task.done() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]


@contextlib.asynccontextmanager
async def storm_running(url_of: Any, identities: list[str], *, deaf_every: int = 0) -> Any:
    """Every charger connecting at once and replaying its queue, until the block ends; every
    ``deaf_every``-th of them deaf to its first StartTransaction's answer."""
    storm = Storm(
        [
            StormCharger(
                identity,
                url_of(identity),
                number,
                deaf_to_first_start=bool(deaf_every) and number % deaf_every == 0,
            )
            for number, identity in enumerate(identities)
        ]
    )
    storm.tasks = [asyncio.create_task(charger.run()) for charger in storm.chargers]
    try:
        yield storm
    finally:
        for task in storm.tasks:
            task.cancel()
        await asyncio.gather(*storm.tasks, return_exceptions=True)
