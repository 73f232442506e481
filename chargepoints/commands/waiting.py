"""Waiting for a command's answer: API requests with ``?wait=`` await it here.

Waiters are woken through a channel-layer group per command; since the layer may drop messages,
they re-read the row too (the row is the truth).
"""

import asyncio
import contextlib
import logging

from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer

from chargepoints.models import Command

logger = logging.getLogger(__name__)

# A waiter never hangs on an unreachable channel layer (issue 16 §1: a committed command is
# answered 201/202, never 500); without it, the row is re-read this often.
LAYER_TIMEOUT_SECONDS = 1.0
POLL_WITHOUT_LAYER_SECONDS = 0.25


def command_group(command_id: int) -> str:
    return f"ocpp.command.{command_id}"


async def command_wait(*, command_id: int, timeout: float) -> Command:  # noqa: ASYNC109
    # (A deadline re-checked per loop, not asyncio.timeout: a cancelled ORM read helps nobody.)
    """Wait up to ``timeout`` seconds for the command to finish; the row as it then is."""
    layer = get_channel_layer()
    # The layer's own prefix, read by its receive(): channels-redis lets one receive() of a
    # process pop at a time, and the OCPP consumers never take that turn (their events have a
    # reader of their own, csms.ocpp.layer_inbox), so a wake-up arrives at once.
    channel = await layer.new_channel()
    group = command_group(command_id)
    try:
        await asyncio.wait_for(layer.group_add(group, channel), timeout=LAYER_TIMEOUT_SECONDS)
        listening = True
    except Exception:  # noqa: BLE001 - the layer is away: the command is committed, poll it
        logger.warning("command %s: waiting without wake-ups (channel layer away)", command_id)
        listening = False
    get = sync_to_async(Command.objects.select_related("charge_point").get)
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            command = await get(pk=command_id)
            remaining = deadline - asyncio.get_running_loop().time()
            if command.finished or remaining <= 0:
                return command
            pause = min(remaining, 1.0 if listening else POLL_WITHOUT_LAYER_SECONDS)
            if not listening:
                await asyncio.sleep(pause)
                continue
            # Re-read at least every second: the wake-up may have been dropped.
            try:
                await asyncio.wait_for(layer.receive(channel), timeout=pause)
            except TimeoutError:
                pass
            except Exception:  # noqa: BLE001 - the layer went away meanwhile: poll from now on
                listening = False
    finally:
        if listening:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(
                    layer.group_discard(group, channel), timeout=LAYER_TIMEOUT_SECONDS
                )


def notify_waiters(*, command_id: int) -> None:
    try:
        async_to_sync(get_channel_layer().group_send)(
            command_group(command_id), {"type": "command.done", "command_id": command_id}
        )
    except Exception:  # waiters re-read the row every second anyway
        logger.warning("could not notify waiters of command %s", command_id, exc_info=True)
