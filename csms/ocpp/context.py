"""What the protocol layer knows of a connection and of one CALL: plain data, no model instances.

:class:`ChargePointSession` lives as long as the WebSocket (the consumer keeps it; the backend
fills it in at the handshake and refreshes it when staff change the registration). A handler
receives a :class:`CallContext`: which charge point of which tenant sent which CALL, when, and
which charger quirks the compatibility layer absorbed on the way (csms.ocpp.compat).
"""

import time
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
    # Admission control answered its last BootNotification Pending: until it boots again it
    # is served as Pending (OCPP 1.6 §4.2.1), whatever its registration says.
    boot_deferred: bool = False
    # Messages it accepted to send on our TriggerMessage, until when (monotonic): answered
    # even while it is Pending (OCPP 1.6 §4.2.1, §5.17).
    triggered: dict[str, float] = field(default_factory=dict)

    @property
    def accepted(self) -> bool:
        return self.registration_status == "Accepted" and not self.boot_deferred

    def trigger_accepted(self, action: str, *, within: float) -> None:
        """It answered TriggerMessage Accepted for ``action``: it may send it (once per
        connector, for a StatusNotification) in the next ``within`` seconds."""
        self.triggered[action] = time.monotonic() + within

    def was_triggered(self, action: str) -> bool:
        until = self.triggered.get(action)
        if until is None:
            return False
        if until < time.monotonic():
            del self.triggered[action]
            return False
        return True


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
