"""Database work of the OCPP path, off the event loop: its threads, and how much is under way.

The consumer awaits one hop per frame; the hops of different charge points overlap in threads
of their own — together one per pooled database connection (more would only wait for a
connection, fewer would leave connections idle) — instead of queueing on the single
thread-sensitive one or behind whatever else uses the loop's default executor. Inbound CALLs
have threads of their own (csms.ocpp.execution.group_commit): in a reconnect storm they must
not queue behind thousands of handshakes. How long the work takes, and how much is under way,
is admission control's saturation signal (csms.ocpp.execution.admission).
"""

from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from channels.db import database_sync_to_async
from django.conf import settings

from csms.ocpp.execution.admission import Admission, admission_from_settings

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
    """Threads for handshakes, closes and the outbox: those the CALL batches leave."""
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(
            max_workers=max(1, settings.OCPP_DB_THREADS - settings.OCPP_CALL_BATCH_PARALLEL),
            thread_name_prefix="ocpp-db",
        )
    return _executor


def db_hop(
    function: Callable[P, R],
    *,
    counted: bool = True,
    executor: ThreadPoolExecutor | None = None,
) -> Callable[P, Awaitable[R]]:
    """``function`` in a database thread (connections cleaned up before and after, as
    Channels does); counted as work under way unless the caller counts it itself."""
    hop: Callable[P, Awaitable[R]] = database_sync_to_async(
        function, thread_sensitive=False, executor=executor or hop_executor()
    )
    if not counted:
        return hop
    gate = admission()

    async def run(*args: P.args, **kwargs: P.kwargs) -> R:
        gate.enter()
        try:
            return await hop(*args, **kwargs)
        finally:
            gate.leave(None)  # handshakes queue in a storm: boots are not what to hold back

    return run
