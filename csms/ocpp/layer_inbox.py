"""One reader of the channel layer for all the OCPP connections of a process.

channels-redis keeps every process-specific channel (``prefix!suffix``) on one Redis list per
prefix, but its ``receive()`` is per channel: each waiting consumer holds two tasks, a buffer
queue and a wait future, only to learn that another consumer's pop carried its message —
about 4 KiB of a 26 KiB connection, for a fleet of mostly idle sockets (issue 17, tracemalloc
at 2,000 connections). Here one task pops the list of a prefix that is this process's alone
(``receive_single``, the call channels-redis's own ``receive()`` makes) and puts each event in
the connection's own queue (``local_inboxes``), which its consumer already reads. A channel
name of ours is an ordinary channel to every sender: ``send()`` in the worker or another
daphne reaches it unchanged.

The layer's failures are waited out as csms.ocpp.layer_events does for one connection, with
one backoff for the process instead of one per socket; once the layer answers again every
connection is woken (``ocpp.outbox``), because wake-ups sent meanwhile are lost and the
database is the truth. A layer without ``receive_single`` (the in-memory layer of the embedded
default) is read per connection, as before.
"""

import asyncio
import logging
import uuid
from typing import Any

from csms.ocpp.layer_events import backoff_delays

logger = logging.getLogger(__name__)

# The connections of this process by channel name: their own queue of events, read by the
# consumer beside its socket (csms.ocpp.consumer). A takeover of a connection of this process
# goes straight in, with no Redis round trip (issue 16 §1, §4); the shared reader puts the
# layer's events in.
local_inboxes: dict[str, asyncio.Queue[dict[str, Any]]] = {}

WAKE_UP = {"type": "ocpp.outbox"}


class SharedLayerReader:
    """Names this process's OCPP channels and reads them all in one task."""

    def __init__(self, layer: Any) -> None:
        self.layer = layer
        # Ours alone: channels-redis's own client prefix stays with the health probe and the
        # API's command waiters, which read through its receive().
        self.prefix = f"ocpp.{uuid.uuid4().hex}!"
        self._task: asyncio.Task[None] | None = None

    def channel_new(self) -> str:
        """A channel for one connection, read from now on (the reader starts with the first)."""
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done() or self._task.get_loop() is not loop:
            self._task = loop.create_task(self._read(), name="ocpp-layer-reader")
        return self.prefix + uuid.uuid4().hex

    async def _read(self) -> None:
        while True:
            try:
                channels, message = await self.layer.receive_single(self.prefix)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - whatever the layer's client raises
                logger.warning("OCPP events: channel layer unreachable (%s); retrying", exc)
                await self._layer_back()
                logger.info("OCPP events: channel layer reachable again; waking every connection")
                for waiting in list(local_inboxes.values()):
                    waiting.put_nowait(dict(WAKE_UP))
                continue
            # A group send to several channels of ours arrives once, naming them all.
            for channel in channels if isinstance(channels, list) else [channels]:
                inbox = local_inboxes.get(channel)
                if inbox is not None:  # else its connection is gone: a wake-up nobody needs
                    inbox.put_nowait(message)

    async def _layer_back(self) -> None:
        """Return once the layer takes a send again. A blocking pop that reconnects would
        only say so with the next event, which may be hours away on a quiet fleet: a send to
        a channel of ours that is nobody's says it at once (and is dropped when read)."""
        for delay in backoff_delays():
            await asyncio.sleep(delay)
            try:
                await self.layer.send(self.prefix + "probe", {"type": "ocpp.probe"})
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001, S112 - still away: the next, longer pause
                continue
            return


# By layer instance (Channels keeps one per alias for the process's life).
_readers: dict[Any, SharedLayerReader] = {}


def shared_reader(layer: Any) -> SharedLayerReader | None:
    """The process's one reader of ``layer``; None where each connection reads its own."""
    if not hasattr(layer, "receive_single"):
        return None
    if layer not in _readers:
        _readers[layer] = SharedLayerReader(layer)
    return _readers[layer]
