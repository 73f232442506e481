"""A connection's channel-layer events, read so that an unreachable layer costs no socket.

Channels reads a consumer's socket and its channel-layer events in one loop
(``await_many_dispatch``): an exception from the layer (Redis stopped, restarted, a network
blip) ends the consumer, its socket closes with 1011 and ``disconnect()`` never runs. Every
event the layer carries for us is only a wake-up (the outbox rows, presence and the per-process
poller in csms.ocpp.outbound are the truth), so while the layer is away the connection goes on
without them and this receiver reconnects with a capped, jittered backoff: a fleet's consumers
must not all knock on a restarting Redis in the same instant.
"""

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

logger = logging.getLogger(__name__)

BACKOFF_FIRST_SECONDS = 0.5
BACKOFF_MAX_SECONDS = 5.0


def backoff_delays(
    *, first: float = BACKOFF_FIRST_SECONDS, cap: float = BACKOFF_MAX_SECONDS
) -> Iterator[float]:
    """0.5, 1, 2, 4, 5, 5 … seconds, each with up to a quarter more of jitter."""
    delay = first
    while True:
        yield delay * (1 + random.random() / 4)  # noqa: S311 - jitter, not a secret
        delay = min(delay * 2, cap)


def layer_receiver(
    receive: Callable[[], Awaitable[dict[str, Any]]],
    *,
    name: str,
    on_restored: Callable[[], None] | None = None,
) -> Callable[[], Awaitable[dict[str, Any]]]:
    """``receive`` (the layer's receive of one channel) that waits out the layer's failures
    instead of raising them; ``on_restored`` runs when it answers again after one (wake-ups
    sent meanwhile are lost: look at the database now)."""
    failing = False

    async def resilient_receive() -> dict[str, Any]:
        nonlocal failing
        delays = backoff_delays()
        while True:
            try:
                message = await receive()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - whatever the layer's client raises
                if not failing:
                    logger.warning("%s: channel layer unreachable (%s); retrying", name, exc)
                failing = True
                await asyncio.sleep(next(delays))
                continue
            if failing:
                failing = False
                logger.info("%s: channel layer reachable again", name)
                if on_restored is not None:
                    on_restored()
            return message

    return resilient_receive
