"""What the protocol layer needs from the apps, as an interface: the protocol layer imports no
models, so this names (and type-checks) every call it makes into the app side.

The one implementation is ``chargepoints.ocpp_backend.ChargePointBackend``, given to the
consumer in ``csms.routing``. Every member is plain synchronous database work: the protocol
layer decides where it runs (csms.ocpp.execution: a database thread, or inside a CALL batch's
transaction) so that the app side stays a list of statements.
"""

from collections.abc import Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from csms.ocpp.context import CallContext, ChargePointSession
from csms.tls.extension import TlsExtension


@dataclass(frozen=True, slots=True)
class OutboundCall:
    """A Central-System-initiated CALL taken from the outbox."""

    command_id: int
    action: str
    payload: dict[str, Any]
    message_id: str


@dataclass(frozen=True)
class ConnectionRefusedError(Exception):
    """Refuse the WebSocket handshake with this HTTP status (OCPP-J §3.2, §7)."""

    status: int
    reason: str


class OcppBackend(Hashable, Protocol):
    # Hashable: the pipeline keeps one group commit per backend (a process has one backend).

    # --- Handshake and presence ---

    def session_open(
        self,
        *,
        tenant_slug: str,
        identity: str,
        authorization: bytes | None,
        channel_name: str,
        client: str,
        subprotocol_offered: bool = True,
        tls: TlsExtension | None = None,
    ) -> tuple[ChargePointSession, str]:
        """Authenticate and register presence: the session and the channel of the connection
        it took over ("" if none); raise ConnectionRefusedError to refuse.

        ``tls`` is the connection's TLS (None: plain ws://). A refused handshake changes nothing
        but the security log: no presence, no takeover, no registration."""
        ...

    def session_close(self, *, session: ChargePointSession, channel_name: str) -> None:
        """Mark the charge point offline unless another connection took it over."""
        ...

    def session_refresh(self, *, session: ChargePointSession) -> None:
        """Re-read what staff may have changed (registration status) while connected."""
        ...

    # --- The message log ---

    def call_record(
        self,
        *,
        ctx: CallContext,
        raw_frame: str,
        answer: str,
        answered_ok: bool,
        log_rows: list[Any] | None = None,
    ) -> None:
        """Inside the call's transaction: its message-log rows (written now, or added to
        ``log_rows`` for the batch's one insert), its quirks, ``last_seen``."""
        ...

    def message_log_write(self, rows: list[Any]) -> int:
        """The batch's message-log rows (collected by :meth:`call_record`) in one insert."""
        ...

    def frames_log(
        self, *, session: ChargePointSession, frames: list[tuple[str, str]], at: datetime
    ) -> None:
        """Keep frames answered without a handler: ``(direction, text)`` pairs."""
        ...

    # --- The outbox of Central-System-initiated calls ---

    def outbox_claim(self, *, session: ChargePointSession) -> OutboundCall | None:
        """The next queued command for this charge point, now marked sent, or None."""
        ...

    def outbox_release(self, *, command_id: int, message_id: str) -> None:
        """A claimed call that was never sent (the socket closed first): queued again."""
        ...

    def outbox_complete(self, *, command_id: int, response: dict[str, Any]) -> None:
        """Store the charge point's CALLRESULT payload."""
        ...

    def outbox_fail(
        self,
        *,
        command_id: int,
        status: str,
        code: str,
        description: str,
        details: dict[str, Any],
    ) -> None:
        """The call ended in a CALLERROR (status "failed"), a time-out or a closed socket."""
        ...

    def charge_points_with_work(self, *, channel_prefix: str) -> list[int]:
        """Charge points connected through channels with this prefix that have queued calls."""
        ...
