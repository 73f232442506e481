"""Tuning of a long-running server process, applied once when ``csms.asgi`` is loaded.

Garbage-collection pauses set the p99, not CPU (PERFORMANCE.md). Everything loaded at start-up
(Django, the apps, the compiled schemas) lives as long as the process: frozen, the collector
never scans it again. Higher thresholds let the many short-lived objects of ORM work die young
instead of being promoted and scanned again with the connections' long-lived ones.
"""

import gc

from django.conf import settings


def tune_garbage_collector() -> None:
    thresholds = settings.GC_THRESHOLDS
    if thresholds:
        gc.set_threshold(*thresholds)
    if settings.GC_FREEZE_AFTER_STARTUP:
        gc.collect()
        gc.freeze()
