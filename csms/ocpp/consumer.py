"""The OCPP-J WebSocket consumer: accept or refuse, receive, send; nothing else.

The handshake is csms.ocpp.handshake, every received frame goes down csms.ocpp.pipeline, and
the Central System's own CALLs go out through csms.ocpp.outbound. The backend (the app side's
database work) is given by ``csms.routing``: ``OcppConsumer.as_asgi(backend=...)``.
"""

import asyncio
import logging
from functools import partial
from typing import Any

from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from channels.utils import await_many_dispatch
from django.conf import settings

from csms import log_context
from csms.metrics import ocpp as metrics
from csms.ocpp.backend import ConnectionRefusedError, OcppBackend
from csms.ocpp.context import ChargePointSession
from csms.ocpp.execution.hops import db_hop
from csms.ocpp.handshake import handshake_open
from csms.ocpp.layer_events import layer_receiver
from csms.ocpp.layer_inbox import local_inboxes, shared_reader
from csms.ocpp.outbound import Outbound
from csms.ocpp.pipeline import frame_receive, registration_recheck
from csms.ocpp.rate_limit import FrameRateLimit

logger = logging.getLogger(__name__)


async def handshake_refuse(send: Any, status: int, reason: str) -> None:
    """Deny the handshake with an HTTP status (ASGI websocket.http.response extension)."""
    metrics.handshake_refused(status)
    await send(
        {
            "type": "websocket.http.response.start",
            "status": status,
            "headers": [(b"content-type", b"text/plain; charset=utf-8")],
        }
    )
    await send({"type": "websocket.http.response.body", "body": reason.encode()})


class OcppConsumer(AsyncWebsocketConsumer):
    session: ChargePointSession | None = None
    # The tenant this connection is counted under in csms_ocpp_connections (once accepted).
    counted_tenant: str | None = None

    def __init__(self, *, backend: OcppBackend) -> None:
        super().__init__()
        self.backend = backend
        # Events for this connection from this process (a takeover, the outbox's turn after an
        # answer), read in order with the socket's: no layer needed.
        self.local_events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.outbound = Outbound(
            backend=backend, send=self.send, after_events=self.local_events.put_nowait
        )
        self.rate_limit = FrameRateLimit(
            rate=settings.OCPP_FRAME_RATE,
            burst=settings.OCPP_FRAME_BURST,
            flood_refusals=settings.OCPP_FRAME_FLOOD_REFUSALS,
            flood_window=settings.OCPP_FRAME_FLOOD_WINDOW_SECONDS,
        )

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Channels' consumer loop, with two guarantees it lacks (issue 16 §1): the channel
        layer's failures never end the connection (csms.ocpp.layer_inbox reads it for the
        whole process; csms.ocpp.layer_events where it is read per connection), and however the
        consumer ends — a close, an exception, a cancellation — its clean-up runs: the outbox
        task stopped, the outstanding call failed, presence cleared."""
        self.scope = scope
        self.base_send = send
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        sources = [receive, self.local_events.get]
        reader = shared_reader(self.channel_layer)
        if reader is not None:
            # The process's one reader puts this channel's events in local_events.
            self.channel_name = reader.channel_new()
        elif self.channel_layer is not None:
            self.channel_name = await self.channel_layer.new_channel()
            sources.append(
                layer_receiver(
                    partial(self.channel_layer.receive, self.channel_name),
                    name=scope.get("path", "ocpp"),
                    on_restored=self.outbound.wake,
                )
            )
        else:
            self.channel_name = f"local!{id(self)}"
        local_inboxes[self.channel_name] = self.local_events
        try:
            await await_many_dispatch(sources, self.dispatch)
        except StopConsumer:
            pass
        finally:
            # Shielded: a cancelled consumer (daphne gave up on it) still leaves nothing behind.
            local_inboxes.pop(self.channel_name, None)
            await asyncio.shield(self.clean_up())

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels closes old database connections through a thread hop before *every* event;
        # our ORM work runs in database_sync_to_async, which cleans up itself. Skip the hop.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    # --- The socket -------------------------------------------------------------------------------

    async def connect(self) -> None:
        kwargs = self.scope["url_route"]["kwargs"]
        # Every line this connection's work logs names its charge point (LOG_FORMAT=json).
        log_context.connection_bind(tenant=kwargs["tenant_slug"], charge_point=kwargs["identity"])
        try:
            session, subprotocol = await handshake_open(
                self.scope, backend=self.backend, channel_name=self.channel_name
            )
        except ConnectionRefusedError as refusal:
            await self.refuse(refusal.status, refusal.reason)
            return
        self.session = session
        await self.accept(subprotocol)
        self.counted_tenant = session.tenant_slug
        metrics.connection_opened(session.tenant_slug)
        self.outbound.open(session, channel_name=self.channel_name)

    async def refuse(self, status: int, reason: str) -> None:
        await handshake_refuse(self.base_send, status, reason)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        await frame_receive(self, text_data)

    async def disconnect(self, code: int) -> None:
        await self.clean_up()
        raise StopConsumer

    async def clean_up(self) -> None:
        """Stop the outbox, fail its outstanding call, clear presence; once, however the
        connection ended."""
        if self.counted_tenant is not None:
            metrics.connection_closed(self.counted_tenant)
            self.counted_tenant = None
        await self.outbound.close("The connection closed before the charge point answered")
        session, self.session = self.session, None
        if session is not None:
            try:
                await db_hop(self.backend.session_close)(
                    session=session, channel_name=self.channel_name
                )
            except Exception:
                # The database is away: presence stays until the charger's next handshake
                # takes it over (or the offline sweep); the consumer still ends.
                logger.exception("%s: presence not cleared", session.identity)

    # --- Channel-layer events: wake-ups, never a command itself -----------------------------------

    async def ocpp_takeover(self, event: dict[str, Any]) -> None:
        """Another connection of the same identity took over: close this stale one."""
        await self.outbound.close("Another connection of this charge point took over")
        self.session = None  # presence now belongs to the new connection
        await self.close(code=4000)

    async def ocpp_refresh(self, event: dict[str, Any]) -> None:
        """Staff changed the registration status or the compatibility switches."""
        if self.session is not None:
            await registration_recheck(self, self.session)

    async def ocpp_answered(self, event: dict[str, Any]) -> None:
        """The answer to our call is recorded and what came with it was handled: next call."""
        self.outbound.answered_continue()

    async def ocpp_outbox(self, event: dict[str, Any]) -> None:
        """A command was queued for this charge point: only a wake-up, the row is the truth."""
        self.outbound.wake()


class UnknownPathConsumer(AsyncWebsocketConsumer):
    """Every other WebSocket path (``/ocpp/``, ``/ocpp/acme``, ``/ocpp/acme/CP-1/extra``): refused
    with 404 at the handshake, as an unknown charge point is (OCPP-J §3.2), instead of the 500
    and traceback of Channels' router finding no route."""

    async def connect(self) -> None:
        await handshake_refuse(
            self.base_send, 404, "No OCPP endpoint here: use /ocpp/<tenant>/<charge point identity>"
        )
