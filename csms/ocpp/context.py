"""What the protocol layer knows of a connection and of one CALL: plain data, no model instances.

:class:`ChargePointSession` lives as long as the WebSocket (the consumer keeps it; the backend
fills it in at the handshake and refreshes it when staff change the registration). A handler
receives a :class:`CallContext`: which charge point of which tenant sent which CALL, when, and
which charger quirks the compatibility layer absorbed on the way (csms.ocpp.compat).
"""

from dataclasses import dataclass, field
from datetime import datetime

from csms.ocpp.compat import CompatSwitches


@dataclass(slots=True)
class ChargePointSession:
    """What a connection knows of its charge point; kept by the consumer, no model instances."""

    tenant_id: int
    tenant_slug: str
    charge_point_id: int
    identity: str
    registration_status: str
    heartbeat_interval: int
    switches: CompatSwitches = field(default_factory=CompatSwitches)
    last_seen_written: float = 0.0
    # Central-System calls were queued for it when it connected (else the outbox waits for a
    # wake-up instead of asking the database at once).
    commands_waiting: bool = True

    @property
    def accepted(self) -> bool:
        return self.registration_status == "Accepted"


@dataclass(slots=True)
class CallContext:
    session: ChargePointSession
    message_id: str
    action: str
    received_at: datetime
    quirks: list[str]

    @property
    def tenant_id(self) -> int:
        return self.session.tenant_id

    @property
    def charge_point_id(self) -> int:
        return self.session.charge_point_id
