"""Load at a chosen rate: the realistic mix of PERFORMANCE.md's load model, time-compressed.

10,000 charge points with a 300 s heartbeat, 30 % of them charging with MeterValues every
60 s and sessions of about an hour send ~90 CALLs/s: ~55 % MeterValues, ~37 % Heartbeat and
the rest session starts and stops (StatusNotification, Authorize, Start/StopTransaction). The
driver offers that mix at any rate by giving steps to charge points in turn; a charge point
does one step at a time and each step waits for its answers, as firmware does. When the
Central System falls behind, charge points stay busy and offered steps are skipped: the
achieved rate then falls short of the target, which is what "not sustained" means.
"""

import asyncio
import random
import time
from collections import deque
from dataclasses import dataclass

from simulator import charging
from simulator.charge_point import SimulatedChargePoint

TICK_SECONDS = 0.01
# CALLs per step
START_STEP = 4  # StatusNotification Preparing, Authorize, StartTransaction, StatusNotification
STOP_STEP = 3  # StopTransaction, StatusNotification Finishing, StatusNotification Available
# Share of all CALLs per kind of step (the rest: session starts and stops).
METER_VALUES_SHARE = 0.55
HEARTBEAT_SHARE = 0.37


@dataclass
class DriveResult:
    seconds: float
    offered: int  # CALLs the driver wanted to send
    skipped: int  # of which no ready charge point could take


class RateDriver:
    def __init__(
        self,
        charge_points: list[SimulatedChargePoint],
        rng: random.Random,
        *,
        charging_share: float = 0.3,
    ) -> None:
        self.rng = rng
        self.idle: deque[SimulatedChargePoint] = deque()
        self.charging: deque[SimulatedChargePoint] = deque()
        for cp in charge_points:
            busy = any(connector.session is not None for connector in cp.connectors)
            (self.charging if busy else self.idle).append(cp)
        self.target_charging = round(charging_share * len(charge_points))
        self.in_flight: set[asyncio.Task[None]] = set()
        self.charging_in_flight = 0  # steps under way that leave their charge point charging

    @property
    def charging_count(self) -> int:
        return len(self.charging) + self.charging_in_flight

    async def warm_up(self, rate: float, within: float = 120.0) -> None:
        """Start sessions until the charging share is reached, at about ``rate`` CALLs/s."""
        started = time.monotonic()
        while len(self.charging) < self.target_charging and time.monotonic() - started < within:
            for _ in range(max(1, int(rate * 0.1 / START_STEP))):
                if len(self.charging) + len(self.in_flight) >= self.target_charging:
                    break
                self._launch("start")
            await asyncio.sleep(0.1)
        await self.drain(within)

    async def run(self, rate: float, seconds: float) -> DriveResult:
        """Offer ``rate`` CALLs/s for ``seconds``; returns what was offered and skipped."""
        offered = skipped = 0
        budget = 0.0
        started = last = time.monotonic()
        while (now := time.monotonic()) - started < seconds:
            budget += rate * (now - last)
            last = now
            while budget >= 1:
                kind = self._pick_kind()
                size = {"meter": 1, "heartbeat": 1, "start": START_STEP, "stop": STOP_STEP}[kind]
                budget -= size
                offered += size
                if not self._launch(kind):
                    skipped += size
            await asyncio.sleep(TICK_SECONDS)
        return DriveResult(time.monotonic() - started, offered, skipped)

    async def drain(self, within: float = 60.0) -> None:
        """Wait for the steps under way."""
        if self.in_flight:
            await asyncio.wait(list(self.in_flight), timeout=within)

    def _pick_kind(self) -> str:
        draw = self.rng.random()
        if draw < METER_VALUES_SHARE:
            return "meter" if self.charging else "start"
        if draw < METER_VALUES_SHARE + HEARTBEAT_SHARE:
            return "heartbeat"
        return "start" if self.charging_count < self.target_charging else "stop"

    def _launch(self, kind: str) -> bool:
        pool = self.charging if kind in ("meter", "stop") else self.idle
        if kind == "heartbeat" and not pool:
            pool = self.charging
        for _ in range(min(len(pool), 8)):
            cp = pool.popleft()
            if cp.online and not cp.outbox:
                task = asyncio.create_task(self._step(cp, kind))
                self.in_flight.add(task)
                task.add_done_callback(self.in_flight.discard)
                if kind in ("meter", "start"):
                    # Counted, not searched for: every start-or-stop draw asks.
                    self.charging_in_flight += 1
                    task.add_done_callback(self._charging_step_done)
                return True
            pool.append(cp)
        return False

    def _charging_step_done(self, _: asyncio.Task[None]) -> None:
        self.charging_in_flight -= 1

    async def _step(self, cp: SimulatedChargePoint, kind: str) -> None:
        connector = cp.connectors[0]
        try:
            if kind == "meter":
                charging.meter_tick(cp, connector)
            elif kind == "heartbeat":
                cp.submit("Heartbeat", {})
            elif kind == "start":
                await charging.begin(cp, connector)
            else:
                charging.end(cp, connector)
            await cp.flushed()
        finally:
            charging_now = connector.session is not None
            (self.charging if charging_now else self.idle).append(cp)
