"""How many frames a connection may send: a token bucket, and when a flood ends the connection.

A charger replaying its offline queue sends one CALL and waits for its answer (OCPP-J §4.1.1),
so even a long queue stays far below the rate; a broken firmware that sends thousands of
frames a second filled the message log with 40,002 rows in 10 s (issue 16 §8). Beyond the
bucket a frame is refused (answered GenericError, not handled, not logged); a connection that
keeps it up — ``flood_refusals`` refusals within ``flood_window`` seconds — is closed.

Pure: the caller passes the clock (property-tested in tests/csms/ocpp/test_rate_limit.py).
"""

from dataclasses import dataclass, field
from enum import Enum


class Verdict(Enum):
    ADMIT = "admit"
    REFUSE = "refuse"
    DISCONNECT = "disconnect"  # once: close the connection
    DROP = "drop"  # every frame after that, still buffered while it closes: ignored


@dataclass(slots=True)
class FrameRateLimit:
    rate: float  # tokens (frames) per second, sustained
    burst: int  # the bucket's size
    flood_refusals: int
    flood_window: float
    tokens: float = field(init=False)
    updated_at: float | None = field(init=False, default=None)
    window_started_at: float = field(init=False, default=0.0)
    refused_in_window: int = field(init=False, default=0)
    flooded: bool = field(init=False, default=False)

    def __post_init__(self) -> None:
        self.tokens = float(self.burst)

    def admit(self, now: float) -> Verdict:
        """The verdict on a frame that arrived at ``now`` (monotonic seconds)."""
        if self.flooded:
            return Verdict.DROP
        if self.rate <= 0:
            return Verdict.ADMIT  # switched off
        if self.updated_at is not None:
            self.tokens = min(self.burst, self.tokens + (now - self.updated_at) * self.rate)
        self.updated_at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return Verdict.ADMIT
        if now - self.window_started_at > self.flood_window:
            self.window_started_at, self.refused_in_window = now, 0
        self.refused_in_window += 1
        if self.refused_in_window >= self.flood_refusals:
            self.flooded = True
            return Verdict.DISCONNECT
        return Verdict.REFUSE
