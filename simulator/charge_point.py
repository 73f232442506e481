"""One simulated charge point: its socket, boot, heartbeats and the firmware's message queue.

Everything the charge point sends goes through one queue, sent by one task, one CALL at a
time (OCPP-J §4.1.1: at most one outstanding CALL per direction). Transaction messages stay
queued across disconnects and are replayed with new message ids after the next boot; other
messages are dropped when the socket goes (real firmware does not queue heartbeats).
"""

import asyncio
import contextlib
import json
import random
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from simulator import central_calls, charging
from simulator.config import Shared
from simulator.meter import MeterModel, kind_for
from simulator.session import TRANSACTION_ACTIONS, Connector, Outgoing

SUBPROTOCOL = "ocpp1.6"
VENDOR = "CSMS-Simulator"
FIRMWARE = "sim-1.0"


class Offline(Exception):  # noqa: N818 - a state, not an error
    """The socket closed (or never opened): nothing can be sent now."""


class CallTimeout(Exception):  # noqa: N818
    pass


class CallError(Exception):
    def __init__(self, code: str, description: str) -> None:
        super().__init__(f"{code}: {description}")
        self.code = code


def _dumps(frame: list[Any]) -> str:
    return json.dumps(frame, separators=(",", ":"))


class Link:
    """One socket of the charge point; a reconnect makes a new one."""

    __slots__ = ("closed", "ws")

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.closed = asyncio.Event()


class SimulatedChargePoint:
    def __init__(self, shared: Shared, index: int, rng: random.Random) -> None:
        config = shared.config
        self.shared = shared
        self.stats = shared.stats
        self.index = index
        self.identity = config.identity(index)
        self.url = config.url(index)
        self.id_tag = config.id_tag(index)
        self.password = config.password
        self.rng = rng
        self.kind = kind_for(rng)
        self.connectors = [
            Connector(number, MeterModel(self.kind, rng, register_wh=rng.uniform(0, 2e6)))
            for number in range(1, config.connectors + 1)
        ]
        self.configuration = central_calls.initial_configuration(self)
        self.heartbeat_interval = config.heartbeat_interval or 300.0
        self.meter_interval = config.meter_interval
        self.local_list_version = 0
        self.firmware_version = FIRMWARE  # what BootNotification shows; an update changes it
        # What a triggered Firmware/DiagnosticsStatusNotification reports (Idle between flows).
        self.firmware_status = "Idle"
        self.diagnostics_status = "Idle"
        self.link: Link | None = None
        self.online = False  # connected and Accepted: may send more than BootNotification
        self.needs_boot = True
        self.outbox: deque[Outgoing] = deque()
        self.wake = asyncio.Event()
        self.pending: tuple[str, str, asyncio.Future[list[Any]]] | None = None
        # Test hook and storm realism: drop the socket when the next transaction message's
        # answer arrives, as if the network went just then (the charger must retry it).
        self.lose_next_answer = False
        self.start_delay = 0.0
        self.release_delay = 0.0
        self.next_connect_delay = 0.0
        self.rebooting = False  # Reset: reconnect after the reboot time, then boot
        self.offline_for = 0.0  # an injected outage: stay away this long after the drop
        self.busy = False  # a load driver's step is under way
        self.tasks: set[asyncio.Task[Any]] = set()

    # --- Life cycle -----------------------------------------------------------------------------

    async def run(self) -> None:
        """Connect, serve, reconnect — until the fleet stops."""
        shared = self.shared
        await asyncio.sleep(self.start_delay)
        failures = 0
        while not shared.stopping:
            if not shared.gate.is_set():
                await shared.gate.wait()
                await asyncio.sleep(self.release_delay)
            elif self.next_connect_delay:
                await asyncio.sleep(self.next_connect_delay)
            if shared.stopping:
                break
            if not shared.gate.is_set():
                continue
            served = await self._connect_and_serve()
            failures = 0 if served else failures + 1
            if self.rebooting:
                self.rebooting = False
                self.next_connect_delay = self.shared.config.reboot_seconds
            elif self.offline_for:
                self.next_connect_delay, self.offline_for = self.offline_for, 0.0
            else:
                self.next_connect_delay = self._reconnect_delay(failures)

    def _reconnect_delay(self, failures: int) -> float:
        low, high = self.shared.config.reconnect_delay
        if failures == 0:
            return self.rng.uniform(low, high)
        # Refused or unreachable: back off exponentially, with jitter so a fleet spreads out.
        ceiling = min(self.shared.config.max_reconnect_delay, high * 2**failures)
        return self.rng.uniform(low, ceiling)

    async def _connect_and_serve(self) -> bool:
        config = self.shared.config
        try:
            ws = await connect(
                self.url,
                subprotocols=[SUBPROTOCOL],
                additional_headers=config.authorization(self.identity, self.password),
                open_timeout=config.connect_timeout,
                ping_interval=None,  # the Central System pings; we only answer
                close_timeout=2,
                compression=None,
                proxy=None,
                user_agent_header=None,
                max_queue=8,
            )
        except InvalidStatus as exc:
            self.stats.error(f"connect refused: HTTP {exc.response.status_code}")
            return False
        except (OSError, TimeoutError, InvalidHandshake) as exc:
            self.stats.error(f"connect failed: {type(exc).__name__}")
            return False
        link = Link(ws)
        self.link = link
        self.stats.connected += 1
        reader = asyncio.create_task(self._read(link))
        try:
            await self._serve(link)
        except Offline:
            pass
        finally:
            self.stats.connected -= 1
            if self.online:
                self.online = False
                self.stats.booted -= 1
            self.link = None
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
            self._forget_transient()
            if not link.closed.is_set():
                link.closed.set()
                with contextlib.suppress(Exception):
                    await ws.close()
        return True

    def _forget_transient(self) -> None:
        """The socket went: queued heartbeats and status reports are pointless now."""
        kept: deque[Outgoing] = deque()
        for entry in self.outbox:
            if entry.persistent:
                kept.append(entry)
            else:
                entry.resolve(None)
        self.outbox = kept

    def abort(self) -> None:
        """Lose the connection at once, with no closing handshake (a network failure)."""
        link = self.link
        if link is not None:
            link.ws.transport.abort()

    def go_offline(self, seconds: float) -> None:
        """The charger's network goes for ``seconds``: the socket drops without a closing
        handshake and the charger stays away (queueing its transaction messages). Already
        offline: nothing changes."""
        if self.link is not None:
            self.offline_for = seconds
            self.abort()

    async def close(self) -> None:
        link = self.link
        if link is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(link.ws.close(), 2)

    def spawn(self, coroutine: Any) -> None:
        task = asyncio.create_task(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    # --- Serving one connection -----------------------------------------------------------------

    async def _serve(self, link: Link) -> None:
        if self.needs_boot or self.shared.config.boot_on_reconnect:
            await self._boot(link)
        self.online = True
        self.stats.booted += 1
        await self._report_statuses()
        await self._pump(link)

    def boot_payload(self) -> dict[str, Any]:
        return {
            "chargePointVendor": VENDOR,
            "chargePointModel": f"SIM {self.kind.name}"[:20],
            "chargePointSerialNumber": self.identity[:25],
            "firmwareVersion": self.firmware_version,
        }

    async def _boot(self, link: Link) -> None:
        """BootNotification until Accepted; Pending/Rejected wait their interval (OCPP 1.6
        §4.2: the charge point sends nothing else meanwhile, but answers the Central System)."""
        config = self.shared.config
        while True:
            try:
                answer = await self.call("BootNotification", self.boot_payload())
            except (CallTimeout, CallError):
                await self._sleep_connected(link, config.boot_retry_seconds)
                continue
            interval = answer.get("interval") or 0
            if answer.get("status") == "Accepted":
                if config.heartbeat_interval is None and interval > 0:
                    self.heartbeat_interval = float(interval)
                self.needs_boot = False
                return
            self.stats.pending_boots += 1
            await self._sleep_connected(
                link, interval if interval > 0 else config.boot_retry_seconds
            )

    async def _report_statuses(self) -> None:
        for payload in [charging.status_payload(0, "Available")] + [
            charging.connector_status_payload(connector) for connector in self.connectors
        ]:
            with contextlib.suppress(CallTimeout, CallError):
                await self.call("StatusNotification", payload)

    async def _sleep_connected(self, link: Link, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(link.closed.wait(), seconds)
        if link.closed.is_set():
            raise Offline

    async def _pump(self, link: Link) -> None:
        """Send the queue in order; heartbeat when it is due."""
        next_heartbeat = time.monotonic() + self.heartbeat_interval
        while True:
            if link.closed.is_set():
                raise Offline
            if self.outbox:
                await self._send_head(link)
                continue
            delay = next_heartbeat - time.monotonic()
            if delay <= 0:
                with contextlib.suppress(CallTimeout, CallError):
                    await self.call("Heartbeat", {})
                next_heartbeat = time.monotonic() + self.heartbeat_interval
                continue
            self.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), delay)

    async def _send_head(self, link: Link) -> None:
        entry = self.outbox[0]
        payload = entry.build()
        if payload is None:  # it depends on a StartTransaction that was never answered
            self.outbox.popleft()
            entry.resolve(None)
            return
        try:
            answer = await self.call(entry.action, payload)
        except (CallTimeout, CallError):
            entry.attempts += 1
            if entry.persistent and entry.attempts < self.shared.config.tx_attempts:
                # Retried after TransactionMessageRetryInterval x attempts, with a new id.
                await self._sleep_connected(
                    link, self.shared.config.tx_retry_interval * entry.attempts
                )
                return
            self.outbox.popleft()
            self.stats.error(f"gave up {entry.action}")
            entry.resolve(None)
            return
        self.outbox.popleft()
        entry.resolve(answer)

    # --- Calls ----------------------------------------------------------------------------------

    async def call(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Send a CALL and return the CALLRESULT payload (only the serving task calls this)."""
        link = self.link
        if link is None or link.closed.is_set():
            raise Offline
        message_id = self.shared.message_id()
        answer: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        self.pending = (message_id, action, answer)
        started = time.monotonic()
        try:
            await link.ws.send(_dumps([2, message_id, action, payload]))
            self.stats.sent[action] += 1
            frame = await asyncio.wait_for(answer, self.shared.config.call_timeout)
        except TimeoutError:
            self.stats.error(f"timeout {action}")
            raise CallTimeout(action) from None
        except ConnectionClosed:
            raise Offline from None
        finally:
            self.pending = None
            if answer.done() and not answer.cancelled():
                answer.exception()  # retrieved: the reader may have failed it as we left
        if frame[0] == 4:
            self.stats.error(f"CALLERROR {frame[2] if len(frame) > 2 else '?'} to {action}")
            raise CallError(str(frame[2]), str(frame[3]) if len(frame) > 3 else "")
        self.stats.record(action, time.monotonic() - started)
        return frame[2] if isinstance(frame[2], dict) else {}

    def submit(
        self,
        action: str,
        payload: Any,
        *,
        persistent: bool = False,
        on_answer: Callable[[dict[str, Any] | None], None] | None = None,
    ) -> "asyncio.Future[dict[str, Any] | None]":
        """Queue a CALL; its future gets the answer, or None if it was dropped or unanswered.

        ``payload`` is a dict or a function building it at send time. Only transaction messages
        (``persistent``) are queued while offline.
        """
        build = payload if callable(payload) else (lambda: payload)
        entry = Outgoing(action, build, persistent, on_answer=on_answer)
        if not persistent and not self.online:
            entry.resolve(None)
            return entry.future
        self.outbox.append(entry)
        self.wake.set()
        return entry.future

    def flushed(self) -> "asyncio.Future[Any]":
        """Done when everything queued so far was answered or dropped."""
        if self.outbox:
            return self.outbox[-1].future
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    # --- Receiving ------------------------------------------------------------------------------

    async def _read(self, link: Link) -> None:
        try:
            async for raw in link.ws:
                await self._on_frame(link, raw)
        except ConnectionClosed:
            pass
        finally:
            link.closed.set()
            self.wake.set()
            pending = self.pending
            if pending is not None and not pending[2].done():
                pending[2].set_exception(Offline())

    async def _on_frame(self, link: Link, raw: str | bytes) -> None:
        try:
            frame = json.loads(raw)
            kind, message_id = frame[0], frame[1]
        except (ValueError, TypeError, IndexError, KeyError):
            self.stats.error("unparsable frame")
            return
        if kind == 2 and len(frame) == 4:
            await self._on_call(link, message_id, frame[2], frame[3])
            return
        pending = self.pending
        if pending is None or pending[0] != message_id or pending[2].done():
            self.stats.error("answer to no outstanding call")
            return
        if self.lose_next_answer and pending[1] in TRANSACTION_ACTIONS:
            self.lose_next_answer = False
            link.ws.transport.abort()  # the answer is lost with the connection
            return
        pending[2].set_result(frame)

    async def _on_call(self, link: Link, message_id: str, action: str, payload: Any) -> None:
        self.stats.calls_received[action] += 1
        answer = central_calls.answer(self, action, payload if isinstance(payload, dict) else {})
        with contextlib.suppress(ConnectionClosed):
            await link.ws.send(_dumps(answer.frame(message_id)))
        if not answer.is_error:
            central_calls.after_answer(self, action, payload, answer)
