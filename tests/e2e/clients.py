"""Talking to the e2e server: WebSocket and OCPP clients, raw frames, polling the database."""

import asyncio
import base64
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from asgiref.sync import sync_to_async
from django.db import connections
from ocpp.v16 import ChargePoint as OcppChargePoint
from websockets.asyncio.client import ClientConnection, connect

SUBPROTOCOL = "ocpp1.6"
# Every wait in this suite is a poll with a short bound: an answer takes milliseconds.
ANSWER_TIMEOUT = 5.0

T = TypeVar("T")


async def orm(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run ORM work from an async test."""

    def run() -> T:
        try:
            return function(*args, **kwargs)
        finally:
            # The worker thread's connection would outlive the test and keep PostgreSQL from
            # dropping the test database; closing hands it back to the pool.
            connections.close_all()

    return await sync_to_async(run)()


async def eventually(probe: Callable[[], Awaitable[T]], *, within: float = ANSWER_TIMEOUT) -> T:
    """Poll ``probe`` until it returns something truthy (work the server does after a close)."""
    deadline = time.monotonic() + within
    while True:
        value = await probe()
        if value or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.02)


# --- Clients ------------------------------------------------------------------------------------


def basic_auth(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def ocpp_url(server: str, tenant_slug: str, identity: str) -> str:
    return f"{server}/ocpp/{tenant_slug}/{identity}"


def open_socket(
    url: str,
    *,
    subprotocols: list[str] | None = None,
    headers: dict[str, str] | None = None,
) -> Any:
    """``async with open_socket(url) as ws`` — a plain WebSocket, ocpp1.6 offered by default."""
    return connect(
        url,
        subprotocols=[SUBPROTOCOL] if subprotocols is None else subprotocols or None,
        additional_headers=headers,
        open_timeout=ANSWER_TIMEOUT,
        close_timeout=1,
        compression=None,
        proxy=None,
        max_size=None,
    )


class Client(OcppChargePoint):
    """The ``ocpp`` package's charge point, as a real charger's firmware would use it."""

    @property
    def ws(self) -> ClientConnection:
        return self._connection

    async def ask(self, payload: Any) -> Any:
        """Send a CALL (validated by the client) and return the typed answer; a CALLERROR
        raises the ``ocpp`` package's exception for its code."""
        return await self.call(payload, suppress=False)


@contextlib.asynccontextmanager
async def ocpp_client(
    url: str, identity: str, *, headers: dict[str, str] | None = None
) -> AsyncIterator[Client]:
    async with open_socket(url, headers=headers) as ws:
        client = Client(identity, ws, response_timeout=ANSWER_TIMEOUT)
        reader = asyncio.create_task(client.start())
        try:
            yield client
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader


async def recv_json(ws: ClientConnection) -> Any:
    return json.loads(await asyncio.wait_for(ws.recv(), ANSWER_TIMEOUT))


async def raw_call(
    ws: ClientConnection, action: str, payload: dict[str, Any], *, message_id: str | None = None
) -> list[Any]:
    """Send ``[2, id, action, payload]`` exactly as given and return the answer frame."""
    message_id = message_id or f"{action[:20]}-{uuid.uuid4().hex[:12]}"
    await ws.send(json.dumps([2, message_id, action, payload]))
    answer = await recv_json(ws)
    assert answer[1] == message_id, answer
    return answer
