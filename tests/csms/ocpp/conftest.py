"""Fixtures of the in-process consumer tests (tests.csms.ocpp.communicator)."""

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from csms.ocpp import outbound


@pytest.fixture
async def outbox_poller_per_test() -> AsyncIterator[None]:
    """The process's outbox poller lives on the event loop it was started on: each test's loop
    gets its own, stopped with it."""
    outbound._poller = None
    yield
    task, outbound._poller = outbound._poller, None
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
