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
import contextvars
import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, TypeVar

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from csms import log_context
from csms.metrics import ocpp as metrics
from csms.ocpp.backend import OcppBackend, OutboundCall
from csms.ocpp.context import ChargePointSession
from csms.ocpp.execution.hops import db_hop
from csms.ocpp.frames import CallError, CallResult, call_frame, redacted_payload
from csms.runtime import heap_settler

logger = logging.getLogger(__name__)

Answer = CallResult | CallError
T = TypeVar("T")

# How long an answer's write is retried while the database is away (then it is logged lost,
# and the orphan sweep ends the command ``timeout``).
ANSWER_RECORD_RETRY_SECONDS = 120.0


async def database_retried(
    write: Callable[[], Awaitable[T]], *, what: str, within: float = ANSWER_RECORD_RETRY_SECONDS
) -> T:
    """``write()``, retried with a growing pause while the database refuses connections (a
    restart, a fail-over); any other error is raised at once."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    pause = 0.1
    while True:
        try:
            return await write()
        except (OperationalError, InterfaceError):
            if loop.time() + pause > deadline:
                raise
            logger.warning("database unavailable writing %s; retrying in %.1f s", what, pause)
            await asyncio.sleep(pause)
            pause = min(pause * 2, 2.0)


# How long after its TriggerMessage.conf the triggered message is expected (one per connector
# for a StatusNotification without connectorId).
TRIGGERED_MESSAGE_WINDOW_SECONDS = 60.0


CONNECTION_CLOSED = "ConnectionClosed"


def _failure_outcome(*, status: str, code: str) -> str:
    """How a failed command is counted: the socket gone first, no answer in time, or the
    charge point's CALLERROR."""
    if code == CONNECTION_CLOSED:
        return "closed"
    return "timeout" if status == "timeout" else "callerror"


class Outbound:
    """One connection's CALLs to its charge point, one at a time, in the order queued."""

    def __init__(
        self,
        *,
        backend: OcppBackend,
        send: Callable[[str], Awaitable[None]],
        after_events: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.backend = backend
        self.send = send
        # Queues an event behind those the connection already received (the consumer's own
        # queue): the next call waits until a close that came with an answer was handled.
        self.after_events = after_events
        self._answered: tuple[asyncio.Future[Answer], Answer] | None = None
        # The session served; None once the connection closed or was taken over.
        self.session: ChargePointSession | None = None
        self.task: asyncio.Task[None] | None = None
        # Look at the outbox (again): set by a wake-up, even one before the start.
        self.look_again = False
        # The connection's log context, taken at the start (a wake-up may come from the
        # process's poller); None: not serving.
        self._context: contextvars.Context | None = None
        # The one outstanding Central-System CALL and the future its answer resolves.
        self.pending_call: tuple[OutboundCall, asyncio.Future[Answer]] | None = None

    @property
    def serving(self) -> bool:
        """Started: the charge point is sent its calls (a task runs only while there is work)."""
        return self._context is not None

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
        # First: the outbox loop must not take another call while it is being stopped.
        session, self.session = self.session, None
        await self._stop(reason)
        if session is not None and _local_connections.get(session.charge_point_id) is self:
            del _local_connections[session.charge_point_id]

    def wake(self) -> None:
        """A command was queued for this charge point: look at the outbox now."""
        self.look_again = True
        idle = self.task is None or self.task.done()
        if self._context is not None and self.session is not None and idle:
            self.task = asyncio.create_task(self._run(), context=self._context.copy())
            _outbox_tasks.add(self.task)
            self.task.add_done_callback(_outbox_tasks.discard)

    def start(self, *, wake: bool = True) -> None:
        """Send this charge point its calls from now on; ``wake`` makes it look at the database
        now (otherwise at a wake-up or the poller's: a reconnect storm need not ask for
        nothing thousands of times). No task waits meanwhile: an idle connection of a fleet
        costs none (issue 17), the outbox task runs while there is work."""
        # Started while a frame (a boot) is handled: its lines name no message but its own.
        self._context = log_context.connection_context()
        if wake or self.look_again:
            self.wake()

    async def answer_take(self, answer: Answer) -> str | None:
        """The charge point answered: if the answer is to our outstanding CALL, record it now,
        before anything else of this connection happens (issue 16 §6).

        Chargers close their socket right after answering a Reset or an AuthorizationKey
        change. The consumer handles one event at a time, so recording the answer here, in the
        event that brought it, puts it in the database before the close's clean-up can run:
        an answer received is never lost, and a call whose answer is in is never failed as
        "closed before the charge point answered" (nor are its result hooks skipped).
        Returns the action of the call answered (None: no call of ours waits for this answer)."""
        pending = self.pending_call
        if pending is None or pending[0].message_id != answer.message_id:
            return None
        call, answered = pending
        self._trigger_note(call, answer)
        self.pending_call = None  # no longer outstanding: a time-out or a close leaves it be
        try:
            await self._record(call, answer)
        finally:
            self._answered = (answered, answer)
            if self.after_events is None:
                self.answered_continue()
            else:
                # A charger that answers and closes sent its close right behind the answer:
                # the next call must not be taken (and sent into the closing socket, then
                # failed) before that close is handled. Continue after the events queued.
                self.after_events({"type": "ocpp.answered"})
        return call.action

    def answered_continue(self) -> None:
        """The events that came with the last answer were handled: the next call may go."""
        answered, self._answered = self._answered, None
        if answered is not None and not answered[0].done():
            answered[0].set_result(answered[1])

    async def _record(self, call: OutboundCall, answer: Answer) -> None:
        """The call's row completed (or failed, for a CALLERROR); while the database is away,
        retried until it is back: the charger did what it was told, so the command must not
        end ``timeout`` (issue 16 §5)."""
        if isinstance(answer, CallResult):
            metrics.command_finished(call.action, "completed")
            write = partial(
                db_hop(self.backend.outbox_complete),
                command_id=call.command_id,
                response=answer.payload,
            )
        else:
            metrics.command_finished(call.action, "callerror")
            write = partial(
                db_hop(self.backend.outbox_fail),
                command_id=call.command_id,
                status="failed",
                code=answer.code,
                description=answer.description,
                details=answer.details or {},
            )
        await database_retried(write, what=f"the answer to {call.action} {call.command_id}")

    def _trigger_note(self, call: OutboundCall, answer: Answer) -> None:
        """A TriggerMessage it accepted: the message it now sends is answered even while it
        is Pending. Noted as the answer arrives, before the triggered message can follow."""
        if (
            call.action == "TriggerMessage"
            and isinstance(answer, CallResult)
            and answer.payload.get("status") == "Accepted"
            and self.session is not None
        ):
            self.session.trigger_accepted(
                str(call.payload.get("requestedMessage")), within=TRIGGERED_MESSAGE_WINDOW_SECONDS
            )

    async def _stop(self, reason: str) -> None:
        self._context = None
        task, self.task = self.task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.pending_call is not None:
            call, _ = self.pending_call
            self.pending_call = None
            try:
                await self._fail(call, status="failed", code=CONNECTION_CLOSED, description=reason)
            except Exception:
                # The closing connection must finish closing; the orphan sweep ends the row.
                logger.exception(
                    "%s %s: could not be failed on close", call.action, call.command_id
                )

    async def _run(self) -> None:
        """Send queued commands in order, never a second CALL before the first is answered."""
        while self.session is not None and self.look_again:
            self.look_again = False
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
            # it marked "sent" would stay so for ever. It never left: back to the queue, for
            # the charge point's next connection (not failed as if it had been sent).
            with contextlib.suppress(Exception):  # a failed claim took nothing
                call = await claim
                if call is not None:
                    await db_hop(self.backend.outbox_release)(
                        command_id=call.command_id, message_id=call.message_id
                    )
            raise

    async def _send(self, session: ChargePointSession, call: OutboundCall) -> bool:
        """Send ``call`` and store its outcome; False if the socket was already gone."""
        with log_context.message_bind(call.message_id):
            return await self._send_bound(session, call)

    async def _send_bound(self, session: ChargePointSession, call: OutboundCall) -> bool:
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
                code=CONNECTION_CLOSED,
                description="The connection closed before the call could be sent",
            )
            return False
        metrics.call_sent(call.action)
        # The message log never keeps a secret (a new AuthorizationKey) in clear.
        logged = call_frame(
            call.message_id, call.action, redacted_payload(call.action, call.payload)
        )
        try:
            await db_hop(self.backend.frames_log)(
                session=session, frames=[("out", logged)], at=timezone.now()
            )
        except Exception:
            # A message log that cannot be written costs its row, never the call (§5).
            logger.exception(
                "%s: outgoing %s not written to the message log", session.identity, call.action
            )
        try:
            # Shielded: a time-out must not cancel an answer being recorded just then. Not
            # wait_for: on Python 3.11 it swallows a cancellation (the connection closing) when
            # the answer is already in, and the loop would take the next call into a dead socket.
            async with asyncio.timeout(settings.OCPP_CALL_TIMEOUT_SECONDS):
                await asyncio.shield(answer)
        except TimeoutError:
            if self.pending_call is not None and self.pending_call[0] is call:
                self.pending_call = None
                await self._fail(
                    call,
                    status="timeout",
                    code="Timeout",
                    description=f"No answer within {settings.OCPP_CALL_TIMEOUT_SECONDS} s",
                )
                return True
            await answer  # it came as the time ran out: answer_take is recording it
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
        # Counted as the charge point's CALLERROR, no answer in time, or the socket gone first.
        metrics.command_finished(call.action, _failure_outcome(status=status, code=code))
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
# Every running outbox task of this process: one per connection with work at most.
_outbox_tasks: set[asyncio.Task[None]] = set()


def outbound_counts() -> dict[str, int]:
    """This process's connections known to the poller and outbox tasks still running."""
    return {"connections": len(_local_connections), "outbox_tasks": len(_outbox_tasks)}


_poller: asyncio.Task[None] | None = None


def _poller_ensure(channel_name: str, backend: OcppBackend) -> None:
    """One poller per process: the database is the truth when a wake-up was lost (the
    channel layer drops messages; a Celery worker on the in-memory layer cannot reach us)."""
    global _poller
    if _poller is None or _poller.done():
        prefix = channel_name.split("!", 1)[0] + "!"
        _poller = asyncio.get_running_loop().create_task(
            _outboxes_poll(prefix, backend), context=log_context.process_context()
        )


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
                if outbound is not None and outbound.serving:
                    outbound.wake()
        except Exception:
            logger.exception("outbox poll failed")
