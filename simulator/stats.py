"""Counters and latencies of a fleet: the live progress line and the final summary."""

import math
import time
from collections import Counter
from dataclasses import dataclass, field


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile of ``values`` (``share`` in 0..1); NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = math.ceil(share * len(ordered))
    return ordered[min(max(rank, 1), len(ordered)) - 1]


@dataclass
class Window:
    """Latencies (ms, CALL sent → answer received) per action since the window opened."""

    started: float = field(default_factory=time.monotonic)
    latencies_ms: dict[str, list[float]] = field(default_factory=dict)
    answered: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.answered.values())

    def rate(self, now: float | None = None) -> float:
        elapsed = (now or time.monotonic()) - self.started
        return self.total / elapsed if elapsed > 0 else 0.0


@dataclass
class Stats:
    """Shared by every charge point of a fleet (one event loop: no locks needed)."""

    connected: int = 0
    booted: int = 0
    sent: Counter[str] = field(default_factory=Counter)
    answered: Counter[str] = field(default_factory=Counter)
    # CALLERROR codes received, time-outs, refused or failed connections, by kind.
    errors: Counter[str] = field(default_factory=Counter)
    # Central-System calls answered by the charge points, by action.
    calls_received: Counter[str] = field(default_factory=Counter)
    # Answers that refuse something without being an error (Authorize Blocked, …).
    refusals: Counter[str] = field(default_factory=Counter)
    pending_boots: int = 0  # BootNotification answered Pending (admission control included)
    # Injected faults applied (``--fault``), and firmware / diagnostics flows run, by kind.
    faults: Counter[str] = field(default_factory=Counter)
    flows: Counter[str] = field(default_factory=Counter)
    window: Window = field(default_factory=Window)
    all_time: Window = field(default_factory=Window)

    def record(self, action: str, latency_s: float) -> None:
        ms = latency_s * 1000.0
        self.answered[action] += 1
        for window in (self.window, self.all_time):
            window.answered[action] += 1
            window.latencies_ms.setdefault(action, []).append(ms)

    def error(self, kind: str) -> None:
        self.errors[kind] += 1
        self.window.errors[kind] += 1
        self.all_time.errors[kind] += 1

    def new_window(self) -> Window:
        """Start a new latency window; the one that ends."""
        ended, self.window = self.window, Window()
        return ended

    @property
    def total_answered(self) -> int:
        return sum(self.answered.values())

    @property
    def total_errors(self) -> int:
        return sum(self.errors.values())


def latency_table(window: Window) -> list[str]:
    """Lines: action, count, p50, p99, p99.9 and max in ms."""
    lines = [
        f"{'action':<22}{'answered':>9}{'p50 ms':>9}{'p99 ms':>9}{'p99.9 ms':>10}{'max ms':>9}"
    ]
    for action in sorted(window.latencies_ms):
        values = window.latencies_ms[action]
        lines.append(
            f"{action:<22}{len(values):>9}{percentile(values, 0.5):>9.1f}"
            f"{percentile(values, 0.99):>9.1f}{percentile(values, 0.999):>10.1f}"
            f"{max(values):>9.1f}"
        )
    return lines
