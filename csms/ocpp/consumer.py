"""The OCPP-J WebSocket consumer: thin glue between daphne, the protocol steps and the backend.

One event at a time per connection (Channels' guarantee), so several CALLs sent without waiting
are answered in order. Nothing here awaits a charge point's answer inside an event handler.
"""

import logging
import re
from typing import Any

from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.consumer import get_handler_name
from django.conf import settings
from django.utils import timezone

from csms.ocpp import protocol
from csms.ocpp.backend import ConnectionRefusedError, get_backend
from csms.ocpp.errors import ErrorCode, OcppError
from csms.ocpp.frames import UNKNOWN_MESSAGE_ID, Call, error_frame, parse_frame
from csms.ocpp.router import CallContext, ChargePointSession

logger = logging.getLogger(__name__)
security_log = logging.getLogger("csms.security")

SUBPROTOCOL = "ocpp1.6"
IDENTITY_MAX_LENGTH = 48
# Read the message id of a frame too big to parse, so its CALLERROR still names it.
_LEADING_MESSAGE_ID = re.compile(r'^\s*\[\s*2\s*,\s*"([^"\\]{1,36})"')


class OcppConsumer(AsyncWebsocketConsumer):
    session: ChargePointSession | None = None

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
            security_log.info("refused %s/%s from %s: subprotocols %s", tenant_slug, identity,
                              client, offered)
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
            )
        except ConnectionRefusedError as refusal:
            await self.refuse(refusal.status, refusal.reason)
            return
        if not offered and not session.switches.allow_missing_subprotocol:
            security_log.info("refused %s/%s: no subprotocol offered", tenant_slug, identity)
            await get_backend().close_session(session, channel_name=self.channel_name)
            await self.refuse(400, f"Subprotocol {SUBPROTOCOL} required")
            return
        self.session = session
        await self.accept(SUBPROTOCOL if offered else None)

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
        if self.session is not None:
            await get_backend().close_session(self.session, channel_name=self.channel_name)
            self.session = None
        raise StopConsumer

    async def ocpp_takeover(self, event: dict[str, Any]) -> None:
        """Another connection of the same identity took over: close this stale one."""
        self.session = None  # presence now belongs to the new connection
        await self.close(code=4000)

    # --- Frames ---------------------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        session = self.session
        if session is None:
            return
        received_at = timezone.now()
        if text_data is None:
            await self.answer_error(
                session, received_at, "<binary frame>",
                OcppError(ErrorCode.FORMATION_VIOLATION, "OCPP-J uses text frames only",
                          message_id=UNKNOWN_MESSAGE_ID),
            )
            return
        if len(text_data) > settings.OCPP_MAX_FRAME_SIZE:
            match = _LEADING_MESSAGE_ID.match(text_data)
            await self.answer_error(
                session, received_at, text_data[:1000],
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
            route = protocol.admit_call(call, session)
            payload, quirks = protocol.validated_request(call.action, call.payload,
                                                         session.switches)
        except OcppError as exc:
            exc.message_id = call.message_id
            await self.answer_error(session, received_at, raw, exc, action=call.action)
            return
        ctx = CallContext(session, call.message_id, call.action, received_at, quirks)
        answer = await backend.handle_call(route, ctx, payload, raw)
        await self.send(text_data=answer)

    async def handle_response(
        self, session: ChargePointSession, frame: Any, raw: str, received_at: Any
    ) -> None:
        # Answers to our own CALLs: matched by the command outbox (Central-System-initiated
        # commands). Until then they are only logged.
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
        answer = error_frame(exc.message_id or UNKNOWN_MESSAGE_ID, exc.code, exc.description,
                             exc.details)
        logger.info("%s: %s %s (%s)", session.identity, action or "frame", exc.code,
                    exc.description)
        await self.send(text_data=answer)
        await get_backend().log_frames(session, [("in", raw), ("out", answer)], received_at)
