"""Admission control for reconnect storms (PERFORMANCE.md, "Storms").

After a restart every charger reconnects within seconds and boots, reports its connectors and
replays its queued transaction messages. Served all at once, the answers of the last ones come
after the chargers' own message time-out (about 30 s), they retry, and the work doubles. So
while this process is saturated a BootNotification is answered ``Pending`` with a randomized
``interval`` instead of doing the boot's work: the charge point must wait at least that long
before booting again and sends nothing else meanwhile (OCPP 1.6 §4.2), and the fleet comes
back in waves the database can absorb.

The saturation signal is local and free: how long this process takes to answer a CALL now (a
moving average over the calls just answered, queueing included) and how much database work is
under way. Each process decides for itself, like its own connection pool. Nothing here touches
the database.
"""

import random
import time
from dataclasses import dataclass, field

from django.conf import settings

# Weight of the latest finished item in the moving average of latency: it follows a storm
# within a few dozen answers.
SMOOTHING = 0.05


@dataclass
class Admission:
    # Boots are deferred while at least this many items are under way; 0 defers every boot
    # (maintenance), a negative value turns admission control off.
    max_in_flight: int
    # ... or while database work takes longer than this (seconds, queueing included).
    max_latency_seconds: float
    retry_min_seconds: int
    retry_max_seconds: int
    in_flight: int = 0
    latency: float = 0.0  # moving average, seconds
    deferred: int = 0  # boots answered Pending by admission control so far
    rng: random.Random = field(default_factory=random.Random)

    def enter(self) -> float:
        """One more item under way; returns its start (for :meth:`leave`)."""
        self.in_flight += 1
        return time.monotonic()

    def leave(self, started: float | None) -> None:
        """One item done; ``started`` feeds the latency (None: not a sample of it)."""
        self.in_flight -= 1
        if started is not None:
            self.latency += SMOOTHING * (time.monotonic() - started - self.latency)

    @property
    def saturated(self) -> bool:
        if self.max_in_flight < 0:
            return False
        return self.in_flight >= self.max_in_flight or self.latency > self.max_latency_seconds

    def boot_deferral(self) -> int | None:
        """Seconds until the charge point may boot again if it must wait, else None."""
        if not self.saturated:
            return None
        self.deferred += 1
        low = max(1, self.retry_min_seconds)
        return self.rng.randint(low, max(low, self.retry_max_seconds))


def admission_from_settings() -> Admission:
    return Admission(
        max_in_flight=settings.OCPP_ADMISSION_MAX_IN_FLIGHT,
        max_latency_seconds=settings.OCPP_ADMISSION_MAX_LATENCY_SECONDS,
        retry_min_seconds=settings.OCPP_ADMISSION_RETRY_MIN_SECONDS,
        retry_max_seconds=settings.OCPP_ADMISSION_RETRY_MAX_SECONDS,
    )
