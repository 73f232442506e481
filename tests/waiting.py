"""Waiting for what a server does in its own time: one poll loop for the whole suite.

Every wait here is a poll with a short bound: an answer takes milliseconds, so a bound only
decides how long a broken run takes to fail.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

# How long a CALL waits for its answer, and a poll for what follows from one.
ANSWER_TIMEOUT = 5.0
# What the server does through its outbox: the poller wakes every OCPP_OUTBOX_POLL_SECONDS (2 s)
# when no wake-up reaches it (the embedded default's in-memory layer cannot reach daphne).
DELIVERY_TIMEOUT = 10.0

T = TypeVar("T")


async def eventually(probe: Callable[[], Awaitable[T]], *, within: float = ANSWER_TIMEOUT) -> T:
    """Poll ``probe`` until it returns something truthy; its last value (falsy on time-out)."""
    deadline = time.monotonic() + within
    while True:
        value = await probe()
        if value or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.02)


async def until(
    probe: Callable[[], Awaitable[T]],
    *,
    within: float = DELIVERY_TIMEOUT,
    what: Callable[[], str] = lambda: "the server did not get there in time",
) -> T:
    """``eventually``, failing the test (saying ``what()`` was missing) when ``probe`` never
    turned truthy."""
    value = await eventually(probe, within=within)
    assert value, what()
    return value
