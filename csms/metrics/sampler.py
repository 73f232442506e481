"""What each serving process samples about itself every ``METRICS_SAMPLE_SECONDS``: its
database connection pool and the OCPP work under way.

These are per-process states nobody else can read: in multiprocess mode the process answering
a scrape sees only its own pool, so each process writes its gauges to its own file on a timer
(and the scraping process once more just before it answers), and the scrape sums the live
ones. Sampling reads counters the pool and admission control keep anyway: no database work.
"""

import asyncio
import contextlib
import logging
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS
from prometheus_client import Gauge

from csms import log_context
from csms.ocpp.execution.hops import admission

logger = logging.getLogger(__name__)

POOL_CONNECTIONS = Gauge(
    "csms_database_pool_connections",
    "Database connections of the processes' pools, by state (in_use, idle).",
    ["state"],
    multiprocess_mode="livesum",
)
POOL_MAX = Gauge(
    "csms_database_pool_max",
    "Largest size of the processes' database pools, summed (DATABASE_POOL_MAX each).",
    multiprocess_mode="livesum",
)
POOL_WAITING = Gauge(
    "csms_database_pool_requests_waiting",
    "Requests waiting for a pooled database connection.",
    multiprocess_mode="livesum",
)
WORK_IN_FLIGHT = Gauge(
    "csms_ocpp_work_in_flight",
    "OCPP database work under way (admission control's count), summed over processes.",
    multiprocess_mode="livesum",
)
WORK_LATENCY = Gauge(
    "csms_ocpp_work_latency_seconds",
    "Moving average of how long a CALL's database work takes, queueing included (admission "
    "control defers boots above OCPP_ADMISSION_MAX_LATENCY_SECONDS); the slowest process.",
    multiprocess_mode="livemax",
)

_task: asyncio.Task[None] | None = None


def pool_stats(alias: str = DEFAULT_DB_ALIAS) -> dict[str, int] | None:
    """psycopg_pool's statistics of this process's pool for ``alias``; None when there is none
    (SQLite, or no connection taken yet: asking Django for it would open the pool)."""
    if not settings.DATABASES[alias].get("OPTIONS", {}).get("pool"):
        return None
    from django.db.backends.postgresql.base import DatabaseWrapper

    # Django keeps one pool per alias for the process on the class (Django >= 5.1).
    pools: dict[str, Any] = getattr(DatabaseWrapper, "_connection_pools", {})
    pool = pools.get(alias)
    if pool is None:
        return None
    stats: dict[str, int] = pool.get_stats()
    return stats


def sample() -> None:
    """Write this process's gauges now."""
    stats = pool_stats()
    if stats is not None:
        size, idle = stats.get("pool_size", 0), stats.get("pool_available", 0)
        POOL_CONNECTIONS.labels("in_use").set(size - idle)
        POOL_CONNECTIONS.labels("idle").set(idle)
        POOL_MAX.set(stats.get("pool_max", 0))
        POOL_WAITING.set(stats.get("requests_waiting", 0))
    gate = admission()
    WORK_IN_FLIGHT.set(gate.in_flight)
    WORK_LATENCY.set(gate.latency)


async def _sample_forever(every: float) -> None:
    while True:
        try:
            sample()
        except Exception:
            logger.exception("metrics sample failed")
        await asyncio.sleep(every)


def sampler_ensure() -> None:
    """Sample this process on a timer, from the running event loop (once per process; the
    ASGI application calls this for every connection, and it costs one check)."""
    global _task
    if _task is not None and not _task.done():
        return
    with contextlib.suppress(RuntimeError):  # no running loop: nothing serves here
        loop = asyncio.get_running_loop()
        _task = loop.create_task(
            _sample_forever(settings.METRICS_SAMPLE_SECONDS), context=log_context.process_context()
        )


def sampled(application: Any) -> Any:
    """The ASGI ``application``, with this process's sampler started by its first connection
    (daphne runs no ASGI lifespan to start it with)."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if _task is None:
            sampler_ensure()
        await application(scope, receive, send)

    return app
