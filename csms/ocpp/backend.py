"""What the consumer needs from the apps, as an interface (the protocol layer has no models).

``settings.OCPP_BACKEND`` names the implementation (``chargepoints.connection.Backend``).
"""

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from csms.ocpp.frames import Call
from csms.ocpp.router import CallContext, ChargePointSession, Route


@dataclass(frozen=True, slots=True)
class OutboundCall:
    """A Central-System-initiated CALL taken from the outbox."""

    command_id: int
    action: str
    payload: dict
    message_id: str


@dataclass(frozen=True)
class ConnectionRefusedError(Exception):
    """Refuse the WebSocket handshake with this HTTP status (OCPP-J §3.2, §7)."""

    status: int
    reason: str


class OcppBackend(Protocol):
    async def open_session(
        self,
        *,
        tenant_slug: str,
        identity: str,
        authorization: bytes | None,
        channel_name: str,
        client: str,
        subprotocol_offered: bool,
    ) -> ChargePointSession:
        """Authenticate and register presence; raise ConnectionRefusedError to refuse.

        A refused handshake changes nothing: no presence, no takeover, no registration."""

    async def close_session(self, session: ChargePointSession, *, channel_name: str) -> None:
        """Mark the charge point offline unless another connection took it over."""

    async def handle_call(
        self, route: Route, ctx: CallContext, payload: dict, raw_frame: str
    ) -> str:
        """Run the handler durably and return the answer frame (CALLRESULT or CALLERROR)."""

    async def log_frames(
        self, session: ChargePointSession, frames: list[tuple[str, str]], at: datetime
    ) -> None:
        """Keep frames the consumer answered itself: ``(direction, text)`` pairs."""

    async def refresh_session(self, session: ChargePointSession) -> None:
        """Re-read what staff may have changed (registration status) while connected."""

    # --- The outbox of Central-System-initiated calls ---

    async def claim_next_call(self, session: ChargePointSession) -> OutboundCall | None:
        """The next queued command for this charge point, now marked sent, or None."""

    async def complete_call(self, call: OutboundCall, response: dict) -> None:
        """Store the charge point's CALLRESULT payload."""

    async def fail_call(
        self, call: OutboundCall, *, status: str, code: str, description: str, details: dict
    ) -> None:
        """The call ended in a CALLERROR (status "failed"), a time-out or a closed socket."""

    async def charge_points_with_work(self, channel_prefix: str) -> list[int]:
        """Charge points connected through channels with this prefix that have queued calls."""


@cache
def get_backend() -> OcppBackend:
    return import_string(settings.OCPP_BACKEND)()


__all__ = ["Call", "ConnectionRefusedError", "OcppBackend", "OutboundCall", "get_backend"]
