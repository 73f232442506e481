"""Tuning of a long-running server process, applied once when ``csms.asgi`` is loaded.

Garbage-collection pauses set the p99, not CPU (PERFORMANCE.md). Everything loaded at start-up
(Django, the apps, the compiled schemas) lives as long as the process: frozen, the collector
never scans it again. Higher thresholds let the many short-lived objects of ORM work die young
instead of being promoted and scanned again with the connections' long-lived ones. With
``GC_LOG_SLOW_MS`` set, every collection slower than that is logged (to measure, not to keep).
"""

import gc
import logging
import time
from typing import Any

from django.conf import settings

logger = logging.getLogger(__name__)


def tune_garbage_collector() -> None:
    thresholds = settings.GC_THRESHOLDS
    if thresholds:
        gc.set_threshold(*thresholds)
    if settings.GC_FREEZE_AFTER_STARTUP:
        gc.collect()
        gc.freeze()
    if settings.GC_LOG_SLOW_MS > 0:
        gc.callbacks.append(_SlowCollectionLog(settings.GC_LOG_SLOW_MS / 1000))


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
