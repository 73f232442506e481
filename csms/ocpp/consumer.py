"""The OCPP-J WebSocket consumer: thin glue between daphne, the protocol steps and the backend.

One event at a time per connection (Channels' guarantee), so several CALLs sent without waiting
are answered in order. Nothing here awaits a charge point's answer inside an event handler.
"""

import asyncio
import contextlib
import logging
import re
from typing import Any

from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.utils import timezone

from csms.ocpp import protocol
from csms.ocpp.backend import ConnectionRefusedError, OcppBackend, OutboundCall, get_backend
from csms.ocpp.errors import ErrorCode, OcppError
from csms.ocpp.frames import (
    UNKNOWN_MESSAGE_ID,
    Call,
    CallError,
    CallResult,
    call_frame,
    error_frame,
    parse_frame,
    redacted_payload,
)
from csms.ocpp.router import CallContext, ChargePointSession
from csms.runtime import heap_settler

logger = logging.getLogger(__name__)
security_log = logging.getLogger("csms.security")

SUBPROTOCOL = "ocpp1.6"
IDENTITY_MAX_LENGTH = 48
# Read the message id of a frame too big to parse, so its CALLERROR still names it.
_LEADING_MESSAGE_ID = re.compile(r'^\s*\[\s*2\s*,\s*"([^"\\]{1,36})"')


# Connections of this process by charge point id, for the outbox poller.
_local_connections: dict[int, "OcppConsumer"] = {}
_poller: asyncio.Task[None] | None = None


class OcppConsumer(AsyncWebsocketConsumer):
    session: ChargePointSession | None = None
    outbox_task: asyncio.Task[None] | None = None
    # The one outstanding Central-System CALL and the future its answer resolves.
    pending_call: tuple[OutboundCall, asyncio.Future[CallResult | CallError]] | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.outbox_wakeup = asyncio.Event()

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels closes old database connections through a thread hop before *every* event;
        # our ORM work runs in database_sync_to_async, which cleans up itself. Skip the hop.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    # --- Handshake ------------------------------------------------------------------------------

    async def connect(self) -> None:
        kwargs = self.scope["url_route"]["kwargs"]
        tenant_slug, identity = kwargs["tenant_slug"], kwargs["identity"]
        client = ":".join(str(part) for part in self.scope.get("client") or ())
        if not 1 <= len(identity) <= IDENTITY_MAX_LENGTH:
            await self.refuse(400, f"Charge point identity must be 1-{IDENTITY_MAX_LENGTH} chars")
            return
        offered = self.scope.get("subprotocols") or []
        if offered and SUBPROTOCOL not in offered:
            security_log.info(
                "refused %s/%s from %s: subprotocols %s", tenant_slug, identity, client, offered
            )
            await self.refuse(400, f"Subprotocol {SUBPROTOCOL} required")
            return
        headers = dict(self.scope.get("headers") or [])
        try:
            session = await get_backend().open_session(
                tenant_slug=tenant_slug,
                identity=identity,
                authorization=headers.get(b"authorization"),
                channel_name=self.channel_name,
                client=client,
                subprotocol_offered=bool(offered),
            )
        except ConnectionRefusedError as refusal:
            await self.refuse(refusal.status, refusal.reason)
            return
        self.session = session
        await self.accept(SUBPROTOCOL if offered else None)
        _local_connections[session.charge_point_id] = self
        _ensure_outbox_poller(self.channel_name)
        # A known, accepted charge point is served at once (it may never boot again); a
        # Pending one gets its queued calls after its BootNotification.
        if session.accepted:
            self.start_outbox(wake=session.commands_waiting)

    async def refuse(self, status: int, reason: str) -> None:
        """Deny the handshake with an HTTP status (ASGI websocket.http.response extension)."""
        body = reason.encode()
        await self.base_send(
            {
                "type": "websocket.http.response.start",
                "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8")],
            }
        )
        await self.base_send({"type": "websocket.http.response.body", "body": body})

    async def disconnect(self, code: int) -> None:
        await self.stop_outbox("The connection closed before the charge point answered")
        if self.session is not None:
            if _local_connections.get(self.session.charge_point_id) is self:
                del _local_connections[self.session.charge_point_id]
            await get_backend().close_session(self.session, channel_name=self.channel_name)
            self.session = None
        raise StopConsumer

    async def ocpp_takeover(self, event: dict[str, Any]) -> None:
        """Another connection of the same identity took over: close this stale one."""
        await self.stop_outbox("Another connection of this charge point took over")
        if (
            self.session is not None
            and _local_connections.get(self.session.charge_point_id) is self
        ):
            del _local_connections[self.session.charge_point_id]
        self.session = None  # presence now belongs to the new connection
        await self.close(code=4000)

    async def ocpp_refresh(self, event: dict[str, Any]) -> None:
        """Staff changed the registration status or the compatibility switches."""
        if self.session is None:
            return
        await get_backend().refresh_session(self.session)
        if self.session.accepted:
            self.start_outbox()

    # --- Outbox: Central-System-initiated calls, one at a time -------------------------------

    async def ocpp_outbox(self, event: dict[str, Any]) -> None:
        """A command was queued for this charge point: only a wake-up, the row is the truth."""
        self.outbox_wakeup.set()

    def start_outbox(self, *, wake: bool = True) -> None:
        """Run the outbox task; ``wake`` makes it look at the database now (otherwise it waits
        for a wake-up or the poller: a reconnect storm need not ask for nothing thousands of
        times)."""
        if self.outbox_task is None:
            self.outbox_task = asyncio.create_task(self.run_outbox())
        if wake:
            self.outbox_wakeup.set()

    async def stop_outbox(self, reason: str) -> None:
        task, self.outbox_task = self.outbox_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.pending_call is not None:
            call, _ = self.pending_call
            self.pending_call = None
            await get_backend().fail_call(
                call, status="failed", code="ConnectionClosed", description=reason, details={}
            )

    async def run_outbox(self) -> None:
        """Send queued commands in order, never a second CALL before the first is answered.

        Runs as a task of its own: the consumer keeps receiving (and answering the charge
        point's own CALLs) while a call is outstanding.
        """
        backend = get_backend()
        while self.session is not None:
            await self.outbox_wakeup.wait()
            self.outbox_wakeup.clear()
            while self.session is not None:
                try:
                    call = await self.claim_next_call(backend, self.session)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    # A database hiccup must not end this task for good (and make stop_outbox
                    # raise on disconnect); the next wake-up, at the latest the poller's, retries.
                    logger.exception("%s: taking the next call failed", self.session.identity)
                    break
                if call is None:
                    if self.session is not None:
                        self.session.commands_waiting = False
                    break
                try:
                    if not await self.send_call(call):
                        return  # the socket is gone; disconnect() follows
                except asyncio.CancelledError:
                    raise
                except Exception:
                    logger.exception("%s: outbound %s failed", self.session.identity, call.action)

    async def claim_next_call(
        self, backend: OcppBackend, session: ChargePointSession
    ) -> OutboundCall | None:
        claim = asyncio.ensure_future(backend.claim_next_call(session))
        try:
            return await asyncio.shield(claim)
        except asyncio.CancelledError:
            # The socket closed mid-claim: the claim still finishes in its thread, and a command
            # it marked "sent" would stay so for ever (nothing times it out). Make it the
            # outstanding call, which stop_outbox fails.
            with contextlib.suppress(Exception):  # a failed claim took nothing
                call = await claim
                if call is not None:
                    self.pending_call = (call, asyncio.get_running_loop().create_future())
            raise

    async def send_call(self, call: OutboundCall) -> bool:
        """Send ``call`` and store its outcome; False if the socket was already gone."""
        session = self.session
        assert session is not None  # noqa: S101 - only called while connected
        backend = get_backend()
        answer: asyncio.Future[CallResult | CallError] = asyncio.get_running_loop().create_future()
        self.pending_call = (call, answer)
        frame = call_frame(call.message_id, call.action, call.payload)
        try:
            await self.send(text_data=frame)
        except Exception:  # noqa: BLE001 - whatever the server's socket layer raises: gone
            # The socket closed before its disconnect event reached this consumer (autobahn's
            # Disconnected): the call never left. It ends failed; the calls queued behind it
            # must wait for the next connection, not be taken and failed one after another.
            self.pending_call = None
            logger.info("%s: socket closed before %s could be sent", session.identity, call.action)
            await backend.fail_call(
                call,
                status="failed",
                code="ConnectionClosed",
                description="The connection closed before the call could be sent",
                details={},
            )
            return False
        # The message log never keeps a secret (a new AuthorizationKey) in clear.
        logged = call_frame(
            call.message_id, call.action, redacted_payload(call.action, call.payload)
        )
        await backend.log_frames(session, [("out", logged)], timezone.now())
        try:
            result = await asyncio.wait_for(answer, timeout=settings.OCPP_CALL_TIMEOUT_SECONDS)
        except TimeoutError:
            self.pending_call = None
            await backend.fail_call(
                call,
                status="timeout",
                code="Timeout",
                description=f"No answer within {settings.OCPP_CALL_TIMEOUT_SECONDS} s",
                details={},
            )
            return True
        self.pending_call = None
        if isinstance(result, CallResult):
            await backend.complete_call(call, result.payload)
        else:
            await backend.fail_call(
                call,
                status="failed",
                code=result.code,
                description=result.description,
                details=result.details,
            )
        return True

    # --- Frames ---------------------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        session = self.session
        if session is None:
            return
        received_at = timezone.now()
        if text_data is None:
            await self.answer_error(
                session,
                received_at,
                "<binary frame>",
                OcppError(
                    ErrorCode.FORMATION_VIOLATION,
                    "OCPP-J uses text frames only",
                    message_id=UNKNOWN_MESSAGE_ID,
                ),
            )
            return
        if len(text_data) > settings.OCPP_MAX_FRAME_SIZE:
            match = _LEADING_MESSAGE_ID.match(text_data)
            await self.answer_error(
                session,
                received_at,
                text_data[:1000],
                OcppError(
                    ErrorCode.FORMATION_VIOLATION,
                    f"Frame exceeds {settings.OCPP_MAX_FRAME_SIZE} characters",
                    message_id=match.group(1) if match else UNKNOWN_MESSAGE_ID,
                ),
            )
            return
        try:
            frame = parse_frame(text_data)
        except OcppError as exc:
            await self.answer_error(session, received_at, text_data, exc)
            return
        if isinstance(frame, Call):
            await self.handle_call(session, frame, text_data, received_at)
        else:
            await self.handle_response(session, frame, text_data, received_at)

    async def handle_call(
        self, session: ChargePointSession, call: Call, raw: str, received_at: Any
    ) -> None:
        backend = get_backend()
        try:
            if not session.accepted and call.action != "BootNotification":
                # Staff may have accepted it since it connected.
                await backend.refresh_session(session)
                if session.accepted:
                    self.start_outbox()
            route = protocol.admit_call(call, session)
            payload, quirks = protocol.validated_request(
                call.action, call.payload, session.switches
            )
        except OcppError as exc:
            exc.message_id = call.message_id
            await self.answer_error(session, received_at, raw, exc, action=call.action)
            return
        ctx = CallContext(session, call.message_id, call.action, received_at, quirks)
        was_accepted = session.accepted
        answer = await backend.handle_call(route, ctx, payload, raw)
        await self.send(text_data=answer)
        if call.action == "BootNotification" and self.session is not None:
            # Accepted or Pending: its queued calls may go now (an accepted charge point's
            # outbox already runs since it connected).
            self.start_outbox(wake=not was_accepted or session.commands_waiting)

    async def handle_response(
        self,
        session: ChargePointSession,
        frame: CallResult | CallError,
        raw: str,
        received_at: Any,
    ) -> None:
        """An answer to our outstanding CALL resolves it; anything else is only logged."""
        pending = self.pending_call
        if pending is not None and pending[0].message_id == frame.message_id:
            if not pending[1].done():
                pending[1].set_result(frame)
        else:
            logger.info(
                "%s: answer to unknown or expired call %s", session.identity, frame.message_id
            )
        await get_backend().log_frames(session, [("in", raw)], received_at)

    async def answer_error(
        self,
        session: ChargePointSession,
        received_at: Any,
        raw: str,
        exc: OcppError,
        *,
        action: str = "",
    ) -> None:
        answer = error_frame(
            exc.message_id or UNKNOWN_MESSAGE_ID, exc.code, exc.description, exc.details
        )
        logger.info(
            "%s: %s %s (%s)", session.identity, action or "frame", exc.code, exc.description
        )
        await self.send(text_data=answer)
        await get_backend().log_frames(session, [("in", raw), ("out", answer)], received_at)


def _ensure_outbox_poller(channel_name: str) -> None:
    """One poller per process: the database is the truth when a wake-up was lost (the
    channel layer drops messages; a Celery worker on the in-memory layer cannot reach us)."""
    global _poller
    if _poller is None or _poller.done():
        prefix = channel_name.split("!", 1)[0] + "!"
        _poller = asyncio.get_running_loop().create_task(_poll_outboxes(prefix))


async def _poll_outboxes(channel_prefix: str) -> None:
    backend = get_backend()
    while True:
        await asyncio.sleep(settings.OCPP_OUTBOX_POLL_SECONDS)
        heap_settler.tick(len(_local_connections))
        if not _local_connections:
            continue
        try:
            for charge_point_id in await backend.charge_points_with_work(channel_prefix):
                consumer = _local_connections.get(charge_point_id)
                if consumer is not None and consumer.outbox_task is not None:
                    consumer.outbox_wakeup.set()
        except Exception:
            logger.exception("outbox poll failed")
