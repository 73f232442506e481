"""Central-System-initiated CALLs: the one outstanding call, the outbox loop, the poller.

OCPP-J §4.1.1: a sender has at most one CALL outstanding per connection. Commands wait in the
database outbox (the row is the truth; a channel-layer ``ocpp.outbox`` message is only a
wake-up, and channels-redis may drop it). Each connection's :class:`Outbound` runs as a task
of its own, so the consumer keeps receiving — and answering the charge point's own CALLs —
while a call is outstanding (STYLE §5: never await a charger's answer inside an event
handler). One poller per process wakes the connections whose commands a lost wake-up left
waiting.
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from django.conf import settings
from django.utils import timezone

from csms.ocpp.backend import OcppBackend, OutboundCall
from csms.ocpp.context import ChargePointSession
from csms.ocpp.execution.hops import db_hop
from csms.ocpp.frames import CallError, CallResult, call_frame, redacted_payload
from csms.runtime import heap_settler

logger = logging.getLogger(__name__)

Answer = CallResult | CallError


class Outbound:
    """One connection's CALLs to its charge point, one at a time, in the order queued."""

    def __init__(self, *, backend: OcppBackend, send: Callable[[str], Awaitable[None]]) -> None:
        self.backend = backend
        self.send = send
        # The session served; None once the connection closed or was taken over.
        self.session: ChargePointSession | None = None
        self.task: asyncio.Task[None] | None = None
        self.wakeup = asyncio.Event()
        # The one outstanding Central-System CALL and the future its answer resolves.
        self.pending_call: tuple[OutboundCall, asyncio.Future[Answer]] | None = None

    def open(self, session: ChargePointSession, *, channel_name: str) -> None:
        """The handshake was accepted: this process's poller now knows the connection."""
        self.session = session
        _local_connections[session.charge_point_id] = self
        _poller_ensure(channel_name, self.backend)
        # A known, accepted charge point is served at once (it may never boot again); a
        # Pending one gets its queued calls after its BootNotification.
        if session.accepted:
            self.start(wake=session.commands_waiting)

    async def close(self, reason: str) -> None:
        """Stop sending; the outstanding call, if any, fails with ``reason``."""
        await self._stop(reason)
        session, self.session = self.session, None
        if session is not None and _local_connections.get(session.charge_point_id) is self:
            del _local_connections[session.charge_point_id]

    def wake(self) -> None:
        """A command was queued for this charge point: look at the outbox now."""
        self.wakeup.set()

    def start(self, *, wake: bool = True) -> None:
        """Run the outbox task; ``wake`` makes it look at the database now (otherwise it waits
        for a wake-up or the poller: a reconnect storm need not ask for nothing thousands of
        times)."""
        if self.task is None:
            self.task = asyncio.create_task(self._run())
        if wake:
            self.wakeup.set()

    def answer_resolve(self, answer: Answer) -> str | None:
        """The charge point answered: resolve our outstanding CALL if the answer is to it; the
        action it answered (None: not our outstanding call)."""
        pending = self.pending_call
        if pending is None or pending[0].message_id != answer.message_id:
            return None
        if not pending[1].done():
            pending[1].set_result(answer)
        return pending[0].action

    async def _stop(self, reason: str) -> None:
        task, self.task = self.task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.pending_call is not None:
            call, _ = self.pending_call
            self.pending_call = None
            await self._fail(call, status="failed", code="ConnectionClosed", description=reason)

    async def _run(self) -> None:
        """Send queued commands in order, never a second CALL before the first is answered."""
        while self.session is not None:
            await self.wakeup.wait()
            self.wakeup.clear()
            while self.session is not None:
                try:
                    call = await self._claim_next(self.session)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    # A database hiccup must not end this task for good (and make close()
                    # raise on disconnect); the next wake-up, at the latest the poller's, retries.
                    logger.exception("%s: taking the next call failed", self.session.identity)
                    break
                if call is None:
                    if self.session is not None:
                        self.session.commands_waiting = False
                    break
                try:
                    if not await self._send(self.session, call):
                        return  # the socket is gone; disconnect() follows
                except asyncio.CancelledError:
                    raise
                except Exception:
                    logger.exception("%s: outbound %s failed", self.session.identity, call.action)

    async def _claim_next(self, session: ChargePointSession) -> OutboundCall | None:
        claim = asyncio.ensure_future(db_hop(self.backend.outbox_claim)(session=session))
        try:
            return await asyncio.shield(claim)
        except asyncio.CancelledError:
            # The socket closed mid-claim: the claim still finishes in its thread, and a command
            # it marked "sent" would stay so for ever (nothing times it out). Make it the
            # outstanding call, which close() fails.
            with contextlib.suppress(Exception):  # a failed claim took nothing
                call = await claim
                if call is not None:
                    self.pending_call = (call, asyncio.get_running_loop().create_future())
            raise

    async def _send(self, session: ChargePointSession, call: OutboundCall) -> bool:
        """Send ``call`` and store its outcome; False if the socket was already gone."""
        answer: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self.pending_call = (call, answer)
        frame = call_frame(call.message_id, call.action, call.payload)
        try:
            await self.send(frame)
        except Exception:  # noqa: BLE001 - whatever the server's socket layer raises: gone
            # The socket closed before its disconnect event reached this consumer (autobahn's
            # Disconnected): the call never left. It ends failed; the calls queued behind it
            # must wait for the next connection, not be taken and failed one after another.
            self.pending_call = None
            logger.info("%s: socket closed before %s could be sent", session.identity, call.action)
            await self._fail(
                call,
                status="failed",
                code="ConnectionClosed",
                description="The connection closed before the call could be sent",
            )
            return False
        # The message log never keeps a secret (a new AuthorizationKey) in clear.
        logged = call_frame(
            call.message_id, call.action, redacted_payload(call.action, call.payload)
        )
        await db_hop(self.backend.frames_log)(
            session=session, frames=[("out", logged)], at=timezone.now()
        )
        try:
            result = await asyncio.wait_for(answer, timeout=settings.OCPP_CALL_TIMEOUT_SECONDS)
        except TimeoutError:
            self.pending_call = None
            await self._fail(
                call,
                status="timeout",
                code="Timeout",
                description=f"No answer within {settings.OCPP_CALL_TIMEOUT_SECONDS} s",
            )
            return True
        self.pending_call = None
        if isinstance(result, CallResult):
            await db_hop(self.backend.outbox_complete)(
                command_id=call.command_id, response=result.payload
            )
        else:
            await self._fail(
                call,
                status="failed",
                code=result.code,
                description=result.description,
                details=result.details,
            )
        return True

    async def _fail(
        self,
        call: OutboundCall,
        *,
        status: str,
        code: str,
        description: str,
        details: dict[str, Any] | None = None,
    ) -> None:
        await db_hop(self.backend.outbox_fail)(
            command_id=call.command_id,
            status=status,
            code=code,
            description=description,
            details=details or {},
        )


# --- The per-process poller -----------------------------------------------------------------------

# Connections of this process by charge point id, for the poller.
_local_connections: dict[int, Outbound] = {}
_poller: asyncio.Task[None] | None = None


def _poller_ensure(channel_name: str, backend: OcppBackend) -> None:
    """One poller per process: the database is the truth when a wake-up was lost (the
    channel layer drops messages; a Celery worker on the in-memory layer cannot reach us)."""
    global _poller
    if _poller is None or _poller.done():
        prefix = channel_name.split("!", 1)[0] + "!"
        _poller = asyncio.get_running_loop().create_task(_outboxes_poll(prefix, backend))


async def _outboxes_poll(channel_prefix: str, backend: OcppBackend) -> None:
    while True:
        await asyncio.sleep(settings.OCPP_OUTBOX_POLL_SECONDS)
        heap_settler.tick(len(_local_connections))
        if not _local_connections:
            continue
        try:
            for charge_point_id in await db_hop(backend.charge_points_with_work)(
                channel_prefix=channel_prefix
            ):
                outbound = _local_connections.get(charge_point_id)
                if outbound is not None and outbound.task is not None:
                    outbound.wake()
        except Exception:
            logger.exception("outbox poll failed")
