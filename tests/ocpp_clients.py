"""Charge points as the tests play them against a live server: plain WebSockets for raw
frames, the ``ocpp`` package's ChargePoint for typed calls, and one way to have either online.
"""

import asyncio
import base64
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any, TypeVar

import pytest
from ocpp.v16 import ChargePoint as OcppChargePoint
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from chargepoints.models import ChargePoint
from tests.async_orm import orm
from tests.waiting import ANSWER_TIMEOUT, DELIVERY_TIMEOUT, eventually, until

SUBPROTOCOL = "ocpp1.6"
# A charge point's Basic-auth password (security whitepaper, profile 1/2: 16-40 characters).
PASSWORD = "correct-horse-battery-9"


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
    **options: Any,
) -> Any:
    """``async with open_socket(url) as ws`` — a plain WebSocket, ocpp1.6 offered by default;
    ``options`` go to ``websockets.connect`` (``ssl=`` for wss://)."""
    defaults = {
        "additional_headers": headers,
        "open_timeout": ANSWER_TIMEOUT,
        "close_timeout": 1,
        "compression": None,
        "proxy": None,
        "max_size": None,
    }
    return connect(
        url,
        subprotocols=[SUBPROTOCOL] if subprotocols is None else subprotocols or None,
        **(defaults | options),
    )


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


async def refused_status(url: str, **options: Any) -> int:
    """The HTTP status the handshake was refused with (fails if it was accepted)."""
    with pytest.raises(InvalidStatus) as refusal:
        async with open_socket(url, **options):
            pass
    return refusal.value.response.status_code


async def is_online(identity: str) -> bool:
    return await orm(ChargePoint.objects.filter(identity=identity, connected=True).exists)


async def is_offline(identity: str) -> bool:
    return not await is_online(identity)


# --- The ocpp package's charge point ------------------------------------------------------------


class Client(OcppChargePoint):
    """The ``ocpp`` package's charge point, as a real charger's firmware would use it."""

    def __init__(self, identity: str, connection: Any, **options: Any) -> None:
        super().__init__(identity, connection, **({"response_timeout": ANSWER_TIMEOUT} | options))

    @property
    def ws(self) -> ClientConnection:
        return self._connection

    async def ask(self, payload: Any) -> Any:
        """Send a CALL (validated by the client) and return the typed answer; a CALLERROR
        raises the ``ocpp`` package's exception for its code."""
        return await self.call(payload, suppress=False)

    def stop(self) -> None:
        """Called when the connection ends, before its reader is awaited (for work of its own)."""


class RecordingClient(Client):
    """Keeps every CALL frame the server sent, as it came off the wire."""

    def __init__(self, identity: str, connection: Any, **options: Any) -> None:
        super().__init__(identity, connection, **options)
        self.calls: list[list[Any]] = []

    async def route_message(self, raw_msg: str) -> None:
        frame = json.loads(raw_msg)
        if frame[0] == 2:
            self.calls.append(frame)
        await super().route_message(raw_msg)

    def actions(self) -> list[str]:
        return [frame[2] for frame in self.calls]

    def payloads(self, action: str) -> list[dict[str, Any]]:
        return [frame[3] for frame in self.calls if frame[2] == action]

    async def calls_of(
        self, action: str, count: int, *, within: float = DELIVERY_TIMEOUT
    ) -> list[dict[str, Any]]:
        """The first ``count`` payloads of ``action`` (the server's poller may take a moment)."""

        async def arrived() -> bool:
            return len(self.payloads(action)) >= count

        await until(
            arrived,
            within=within,
            what=lambda: f"{self.id}: {self.actions()}, not {count} {action}",
        )
        return self.payloads(action)[:count]


ClientT = TypeVar("ClientT", bound=Client)


@contextlib.asynccontextmanager
async def reading(client: ClientT) -> AsyncIterator[ClientT]:
    """``client`` reads its socket in a task of its own until the block ends."""
    reader = asyncio.create_task(client.start())
    try:
        yield client
    finally:
        reader.cancel()
        client.stop()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reader


@contextlib.asynccontextmanager
async def ocpp_client(
    url: str, identity: str, *, headers: dict[str, str] | None = None, **options: Any
) -> AsyncIterator[Client]:
    async with (
        open_socket(url, headers=headers, **options) as ws,
        reading(Client(identity, ws)) as client,
    ):
        yield client


@contextlib.asynccontextmanager
async def connected_as(
    client_class: type[ClientT],
    url: str,
    identity: str,
    *,
    headers: dict[str, str] | None = None,
    seen_online: bool = False,
) -> AsyncIterator[ClientT]:
    """A ``client_class`` connected (``seen_online``: and seen online by the server first); on
    exit closed and waited for until seen offline, so the server's clean-up of this connection
    cannot overlap the next test."""
    async with (
        open_socket(url, headers=headers) as ws,
        reading(client_class(identity, ws)) as client,
    ):
        if seen_online:
            assert await eventually(lambda: is_online(identity))
        yield client
    await eventually(lambda: is_offline(identity))
