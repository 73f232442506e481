"""Database work of the OCPP path, off the event loop: its threads, and how much is under way.

The consumer awaits one hop per frame; the hops of different charge points overlap in threads
of their own — one per pooled database connection (more would only wait for a connection,
fewer would leave connections idle) — instead of queueing on the single thread-sensitive one
or behind whatever else uses the loop's default executor. The number of hops under way is
admission control's saturation signal (chargepoints.admission).
"""

from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from channels.db import database_sync_to_async
from django.conf import settings

from chargepoints.admission import Admission, admission_from_settings

P = ParamSpec("P")
R = TypeVar("R")
_executor: ThreadPoolExecutor | None = None
_admission: Admission | None = None


def admission() -> Admission:
    """This process's admission control (its counter of work under way)."""
    global _admission
    if _admission is None:
        _admission = admission_from_settings()
    return _admission


def hop_executor() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(
            max_workers=settings.OCPP_DB_THREADS, thread_name_prefix="ocpp-db"
        )
    return _executor


def db_hop(function: Callable[P, R], *, counted: bool = True) -> Callable[P, Awaitable[R]]:
    """``function`` in a database thread (connections cleaned up before and after, as
    Channels does); counted as work under way unless the caller counts it itself."""
    hop = database_sync_to_async(function, thread_sensitive=False, executor=hop_executor())
    if not counted:
        return hop
    gate = admission()

    async def run(*args: P.args, **kwargs: P.kwargs) -> R:
        started = gate.enter()
        try:
            return await hop(*args, **kwargs)
        finally:
            gate.leave(started)

    return run
