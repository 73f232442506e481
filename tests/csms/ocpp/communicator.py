"""The consumer in process: no server, the project's own routing and backend, the test database.

Its database work runs in threads of its own, so tests that use it commit their rows
(``transaction=True``) and stop the process's outbox poller with their event loop
(the ``outbox_poller_per_test`` fixture).
"""

from typing import Any

from asgiref.testing import ApplicationCommunicator
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator

from csms.routing import websocket_urlpatterns


class OcppCommunicator(WebsocketCommunicator):
    """channels' WebsocketCommunicator on ``csms.routing``, with the database hops as in
    production: channels' own communicator turns ``close_old_connections`` off while it waits
    (for TestCase transactions), which leaves the OCPP threads' connections checked out of the
    pool; these tests commit (``transaction=True``) and need no such thing."""

    def __init__(self, path: str, **options: Any) -> None:
        super().__init__(URLRouter(websocket_urlpatterns), path, **options)

    async def send_input(self, message: dict[str, Any]) -> None:
        await ApplicationCommunicator.send_input(self, message)

    async def receive_output(self, timeout: float = 1) -> dict[str, Any]:  # noqa: ASYNC109 - its signature
        return await ApplicationCommunicator.receive_output(self, timeout)
