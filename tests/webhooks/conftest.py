"""Webhook fixtures: a real HTTP receiver on 127.0.0.1, endpoints, OCPP call contexts."""

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from csms.tenancy.models import Tenant
from csms.webhooks.models import Delivery, WebhookEndpoint
from csms.webhooks.services.endpoints import webhook_endpoint_create


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Response:
    status: int = 200
    delay: float = 0.0
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)


class Receiver:
    """What an integrator runs: records every request, answers from a script (default 200)."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self._script: deque[Response] = deque()
        self._lock = threading.Lock()
        self.url = ""

    def respond(self, *responses: Response | int) -> None:
        """Answer the next requests with these (then 200 again)."""
        with self._lock:
            self._script.extend(r if isinstance(r, Response) else Response(r) for r in responses)

    def next_response(self, received: Received) -> Response:
        with self._lock:
            self.requests.append(received)
            return self._script.popleft() if self._script else Response()

    def events(self) -> list[dict[str, Any]]:
        return [request.json for request in list(self.requests)]

    def types(self) -> list[str]:
        return [event["type"] for event in self.events()]

    def wait_for(self, predicate: Callable[[list[dict[str, Any]]], bool], within: float) -> bool:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if predicate(self.events()):
                return True
            time.sleep(0.05)
        return predicate(self.events())


class _Handler(BaseHTTPRequestHandler):
    server: "_ReceiverServer"

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        received = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        response = self.server.receiver.next_response(received)
        if response.delay:
            time.sleep(response.delay)
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _ReceiverServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, receiver: Receiver) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.receiver = receiver

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that timed out and hung up is part of the tests


@pytest.fixture
def receiver(settings: Any) -> Iterator[Receiver]:
    """A real HTTP server in a thread; loopback webhook URLs are allowed while it runs."""
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True
    receiver = Receiver()
    server = _ReceiverServer(receiver)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    thread = threading.Thread(
        target=server.serve_forever, args=(0.05,), name="webhook-receiver", daemon=True
    )
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def make_endpoint(receiver: Receiver) -> Callable[..., WebhookEndpoint]:
    def make(tenant: Tenant, *, url: str | None = None, **fields: Any) -> WebhookEndpoint:
        return webhook_endpoint_create(tenant=tenant, url=url or receiver.url, **fields)

    return make


@pytest.fixture
def endpoint(tenant: Tenant, make_endpoint: Callable[..., WebhookEndpoint]) -> WebhookEndpoint:
    """An endpoint of tenant ``acme`` subscribed to everything, posting to the receiver."""
    return make_endpoint(tenant)


def delivery_of(event_id: Any, endpoint: WebhookEndpoint | None = None) -> Delivery:
    deliveries = Delivery.objects.filter(event_id=event_id)
    if endpoint is not None:
        deliveries = deliveries.filter(endpoint=endpoint)
    return deliveries.get()
