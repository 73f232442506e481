"""Tuning of a long-running server process, applied once when ``csms.asgi`` is loaded.

Garbage-collection pauses set the p99, not CPU (PERFORMANCE.md). Everything loaded at start-up
(Django, the apps, the compiled schemas) lives as long as the process: frozen, the collector
never scans it again. Higher thresholds let the many short-lived objects of ORM work die young
instead of being promoted and scanned again with the connections' long-lived ones.

A process holding thousands of connections keeps a million or more container objects alive (each
connection's protocol, transport, consumer and session); a full collection scans all of them —
over half a second at 5,000 connections here, every couple of minutes, which is the p99 of every
call in flight meanwhile (measured by ``make bench``). So what survives a full collection is
frozen as well (``GC_FREEZE_SURVIVORS``): later full collections scan only what is newer. Cyclic
garbage among frozen objects (a connection closed since) waits for the next thaw, every
``GC_THAW_SECONDS``, when one full collection scans everything again. The first full collection
after thousands of charge points connected is the expensive one: :class:`HeapSettler` runs it
(and the freeze) as soon as a burst of new connections is over, rather than let it fall at a
random moment under load. With
``GC_LOG_SLOW_MS`` set, every collection slower than that is logged (to measure, not to keep).
"""

import gc
import logging
import sys
import time
from typing import Any

from django.conf import settings

logger = logging.getLogger(__name__)


def tune_interpreter_lock() -> None:
    """A database thread back from a round trip waits for the interpreter lock until the event
    loop's thread lets go of it, at worst a whole switch interval (5 ms by default) per
    statement while the loop is busy; a StartTransaction makes ten round trips."""
    if settings.GIL_SWITCH_INTERVAL_MS:
        sys.setswitchinterval(float(settings.GIL_SWITCH_INTERVAL_MS) / 1000)


def tune_garbage_collector() -> None:
    thresholds = settings.GC_THRESHOLDS
    if thresholds:
        gc.set_threshold(*thresholds)
    if settings.GC_FREEZE_AFTER_STARTUP:
        gc.collect()
        gc.freeze()
    if settings.GC_FREEZE_SURVIVORS:
        gc.callbacks.append(SurvivorFreezer(thaw_every=settings.GC_THAW_SECONDS))
    if settings.GC_LOG_SLOW_MS > 0:
        gc.callbacks.append(_SlowCollectionLog(settings.GC_LOG_SLOW_MS / 1000))


class HeapSettler:
    """Collects and freezes once a burst of connections has settled: ticked by the process's
    outbox poller with its connection count. A burst is growth by a quarter (and at least
    ``minimum`` connections) since the last settling; it is over when a tick sees no growth."""

    def __init__(self, *, minimum: int = 500) -> None:
        self.minimum = minimum
        self.settled_at = 0
        self.previous = 0

    def tick(self, connections: int) -> bool:
        """Whether it collected now."""
        grown = connections >= max(self.minimum, self.settled_at * 5 // 4)
        still_growing = connections > self.previous
        self.previous = connections
        if not grown or still_growing or not settings.GC_FREEZE_SURVIVORS:
            return False
        started = time.perf_counter()
        gc.collect()
        gc.freeze()
        self.settled_at = connections
        logger.info(
            "heap settled at %d connections: full collection and freeze in %.0f ms",
            connections,
            (time.perf_counter() - started) * 1000,
        )
        return True


heap_settler = HeapSettler()


class SurvivorFreezer:
    """A ``gc.callbacks`` entry: freezes what survived each full collection, and thaws
    everything every ``thaw_every`` seconds so that the next full collection reclaims the
    cycles that formed among frozen objects."""

    def __init__(self, *, thaw_every: float, clock: Any = time.monotonic) -> None:
        self.thaw_every = thaw_every
        self.clock = clock
        self.thawed_at = clock()

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase != "stop" or info.get("generation") != 2:
            return
        # The collection is over: freezing only moves the generations' lists.
        gc.freeze()
        now = self.clock()
        if now - self.thawed_at >= self.thaw_every:
            self.thawed_at = now
            gc.unfreeze()  # into the oldest generation: the next full collection sees all


class _SlowCollectionLog:
    """Logs collections slower than ``threshold`` and, every minute, the time spent in each
    generation since the last report."""

    REPORT_EVERY = 60.0

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold
        self.started = 0.0
        self.spent = [0.0, 0.0, 0.0]
        self.count = [0, 0, 0]
        self.reported = time.monotonic()

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self.started = time.perf_counter()
            return
        took = time.perf_counter() - self.started
        generation = info.get("generation", 0)
        self.spent[generation] += took
        self.count[generation] += 1
        if took >= self.threshold:
            logger.warning(
                "gc generation %s took %.0f ms (%s collected)",
                generation,
                took * 1000,
                info.get("collected"),
            )
        now = time.monotonic()
        if now - self.reported >= self.REPORT_EVERY:
            logger.warning(
                "gc in the last %.0f s: %s",
                now - self.reported,
                ", ".join(
                    f"gen{g} {n}x {spent * 1000:.0f} ms"
                    for g, (n, spent) in enumerate(zip(self.count, self.spent, strict=True))
                ),
            )
            self.spent, self.count, self.reported = [0.0, 0.0, 0.0], [0, 0, 0], now
