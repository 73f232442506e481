"""The process's one reader of the channel layer (csms.ocpp.layer_inbox), on a Redis server of
the test's own: another process's sends reach each connection's queue, and a Redis that goes
away and comes back costs nothing but a wake-up for everyone."""

import asyncio
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from channels.layers import InMemoryChannelLayer
from channels_redis.core import RedisChannelLayer

from csms.ocpp.layer_inbox import SharedLayerReader, local_inboxes, shared_reader
from tests.faults.services import PrivateRedis, private_redis


@pytest.fixture
def redis() -> Iterator[PrivateRedis]:
    with tempfile.TemporaryDirectory() as directory, private_redis(Path(directory)) as server:
        yield server


def _layer(redis: PrivateRedis) -> RedisChannelLayer:
    return RedisChannelLayer(hosts=[redis.url], prefix="inbox-test", expiry=10)


@pytest.fixture
def inboxes() -> Iterator[dict[str, asyncio.Queue[dict[str, Any]]]]:
    """Connections' queues registered as the consumer does, gone after the test."""
    registered: dict[str, asyncio.Queue[dict[str, Any]]] = {}
    yield registered
    for channel in registered:
        local_inboxes.pop(channel, None)


def _connect(
    reader: SharedLayerReader, inboxes: dict[str, asyncio.Queue[dict[str, Any]]]
) -> tuple[str, asyncio.Queue[dict[str, Any]]]:
    channel = reader.channel_new()
    inboxes[channel] = local_inboxes[channel] = asyncio.Queue()
    return channel, inboxes[channel]


async def _next(queue: asyncio.Queue[dict[str, Any]], within: float = 5.0) -> dict[str, Any]:
    return await asyncio.wait_for(queue.get(), within)


async def test_sends_from_another_process_reach_each_connections_queue(
    redis: PrivateRedis, inboxes: dict[str, asyncio.Queue[dict[str, Any]]]
) -> None:
    reader = SharedLayerReader(_layer(redis))
    sender = _layer(redis)  # as the Celery worker's or another daphne's layer
    (first, first_events), (second, second_events) = (_connect(reader, inboxes) for _ in "ab")
    gone = reader.channel_new()  # a connection that closed: nobody's queue

    await sender.send(gone, {"type": "ocpp.outbox"})
    await sender.send(second, {"type": "ocpp.refresh"})
    await sender.send(first, {"type": "ocpp.takeover"})
    await sender.group_add("both", first)
    await sender.group_add("both", second)
    await sender.group_send("both", {"type": "ocpp.outbox", "n": 1})

    assert await _next(first_events) == {"type": "ocpp.takeover"}
    assert await _next(first_events) == {"type": "ocpp.outbox", "n": 1}
    assert await _next(second_events) == {"type": "ocpp.refresh"}
    assert await _next(second_events) == {"type": "ocpp.outbox", "n": 1}
    assert first_events.empty() and second_events.empty()
    reading = [t for t in asyncio.all_tasks() if t.get_name() == "ocpp-layer-reader"]
    assert len(reading) == 1, "one reader for the process, not one per connection"
    reading[0].cancel()


async def test_a_redis_that_goes_away_is_waited_out_and_wakes_every_connection(
    redis: PrivateRedis, inboxes: dict[str, asyncio.Queue[dict[str, Any]]]
) -> None:
    reader = SharedLayerReader(_layer(redis))
    (first, first_events), (_, second_events) = (_connect(reader, inboxes) for _ in "ab")
    await _layer(redis).send(first, {"type": "ocpp.refresh"})
    assert await _next(first_events) == {"type": "ocpp.refresh"}

    redis.stop()
    await asyncio.sleep(1.5)  # the reader fails and backs off meanwhile
    assert reader._task is not None and not reader._task.done(), "the reader gave up"
    redis.start()

    # Wake-ups sent while it was away are lost: every connection looks at the database.
    assert await _next(first_events, within=15) == {"type": "ocpp.outbox"}
    assert await _next(second_events, within=15) == {"type": "ocpp.outbox"}
    await _layer(redis).send(first, {"type": "ocpp.takeover"})
    assert await _next(first_events) == {"type": "ocpp.takeover"}
    reader._task.cancel()


def test_a_layer_that_cannot_be_read_for_all_is_read_per_connection() -> None:
    assert shared_reader(InMemoryChannelLayer()) is None
    assert shared_reader(None) is None
    layer = RedisChannelLayer(hosts=["redis://127.0.0.1:1/0"])
    assert shared_reader(layer) is shared_reader(layer), "one reader per layer"
