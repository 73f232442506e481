"""A fleet: many simulated charge points in one event loop, storms, progress and a summary."""

import asyncio
import random
import time
from collections.abc import Callable

from simulator import charging
from simulator.answers import AnswerBook
from simulator.charge_point import SimulatedChargePoint
from simulator.config import FleetConfig, Shared
from simulator.faults import faults_run
from simulator.session import Session
from simulator.stats import Stats, latency_table

CLOSE_BATCH = 500


class Fleet:
    def __init__(
        self, config: FleetConfig, answers: AnswerBook | None = None, *, stats: Stats | None = None
    ) -> None:
        """``stats`` may be shared with other fleets (one set of figures for all of them)."""
        self.config = config
        self.shared = Shared(config, stats=stats or Stats(), answers=answers or AnswerBook())
        self.stats = self.shared.stats
        # Simulated behaviour, not secrets: a seeded generator makes runs repeatable.
        self.rng = random.Random(config.seed)  # noqa: S311
        self.charge_points = [
            SimulatedChargePoint(self.shared, index, random.Random(self.rng.getrandbits(64)))  # noqa: S311
            for index in range(config.start_index, config.start_index + config.count)
        ]
        self._tasks: list[asyncio.Task[None]] = []
        self._last_progress = (time.monotonic(), 0)

    @property
    def ledger(self) -> list[Session]:
        return self.shared.ledger

    # --- Life cycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Every charge point connects once within the ramp (jittered start); a share of them
        charges on its own."""
        for cp in self.charge_points:
            cp.start_delay = self.rng.uniform(0, self.config.ramp_seconds)
            self._tasks.append(asyncio.create_task(cp.run()))
        charging_count = round(self.config.charging_share * len(self.charge_points))
        for cp in self.rng.sample(self.charge_points, charging_count):
            cp.spawn(charging.autonomous(cp))
        if self.config.faults:
            for cp in self.charge_points:
                cp.spawn(faults_run(cp, self.config.faults))

    async def stop(self) -> None:
        """Close every socket cleanly and end every task."""
        self.shared.stopping = True
        self.shared.gate.set()
        for batch in range(0, len(self.charge_points), CLOSE_BATCH):
            await asyncio.gather(
                *(cp.close() for cp in self.charge_points[batch : batch + CLOSE_BATCH])
            )
        tasks = [*self._tasks, *(task for cp in self.charge_points for task in cp.tasks)]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()

    # --- Storms ---------------------------------------------------------------------------------

    def hold(self) -> None:
        """Charge points that lose their socket from now on wait for :meth:`release`."""
        self.shared.gate.clear()

    def drop_all(self) -> None:
        """Every socket lost at once (a network outage): hold, then abort them all."""
        self.hold()
        for cp in self.charge_points:
            cp.abort()

    def release(self, jitter: float = 0.0) -> None:
        """Reconnect everything held: at once, or spread over ``jitter`` seconds."""
        for cp in self.charge_points:
            cp.release_delay = self.rng.uniform(0, jitter) if jitter > 0 else 0.0
        self.shared.gate.set()

    def charge_offline(self, *, samples: int, interval: float) -> int:
        """Each charge point queues one whole back-dated session (for after an outage)."""
        return sum(
            charging.charge_offline(cp, samples=samples, interval=interval) is not None
            for cp in self.charge_points
        )

    # --- State ----------------------------------------------------------------------------------

    def queued(self) -> int:
        return sum(len(cp.outbox) for cp in self.charge_points)

    def settled(self) -> bool:
        """Every charge point booted, its queue empty and nothing outstanding."""
        return all(cp.online and not cp.outbox and cp.pending is None for cp in self.charge_points)

    async def wait_until(
        self, condition: Callable[[], bool], *, within: float, poll: float = 0.1
    ) -> bool:
        deadline = time.monotonic() + within
        while not condition():
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(poll)
        return True

    # --- Output ---------------------------------------------------------------------------------

    def progress_line(self) -> str:
        now, answered = time.monotonic(), self.stats.total_answered
        then, before = self._last_progress
        self._last_progress = (now, answered)
        rate = (answered - before) / (now - then) if now > then else 0.0
        stats = self.stats
        return (
            f"connected {stats.connected:>6,}  booted {stats.booted:>6,}  "
            f"msg/s {rate:>7,.0f}  answered {answered:>9,}  queued {self.queued():>6,}  "
            f"cs-calls {sum(stats.calls_received.values()):>5,}  errors {stats.total_errors:>5,}"
        )

    async def show_progress(
        self, write: Callable[[str], object], *, live: bool, every: float = 1.0
    ) -> None:
        """The live progress line until cancelled (rewritten in place on a terminal)."""
        try:
            while True:
                await asyncio.sleep(every)
                line = self.progress_line()
                write(f"\r{line}" if live else f"{line}\n")
        finally:
            if live:
                write("\n")

    def summary(self) -> list[str]:
        stats = self.stats
        window = stats.all_time
        elapsed = time.monotonic() - window.started
        lines = [
            f"{len(self.charge_points)} charge points, {elapsed:.0f} s: "
            f"{stats.total_answered:,} CALLs answered ({window.rate():,.0f}/s), "
            f"{stats.total_errors:,} errors, {stats.pending_boots:,} boots answered "
            "Pending/Rejected",
            *latency_table(window),
        ]
        sessions = self.ledger
        if sessions:
            lines.append(
                f"sessions {len(sessions):,}: started {sum(s.start_acked for s in sessions):,}, "
                f"stopped {sum(s.stop_acked for s in sessions):,}, sampled values acknowledged "
                f"{sum(s.samples_acked for s in sessions):,}"
            )
        if stats.calls_received:
            calls = ", ".join(f"{a} {n}" for a, n in sorted(stats.calls_received.items()))
            lines.append(f"Central-System calls answered: {calls}")
        for kind, count in stats.errors.most_common(10):
            lines.append(f"error: {kind} x{count}")
        for kind, count in stats.refusals.most_common(5):
            lines.append(f"refused: {kind} x{count}")
        return lines
