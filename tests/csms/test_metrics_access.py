"""Who may read /metrics (csms.metrics.access): the token, or the client's network as
csms.forwarded established it, never an address a client wrote into X-Forwarded-For."""

import io
from typing import Any

import pytest
from django.core.handlers.asgi import ASGIRequest
from django.test import Client, RequestFactory

from csms.metrics.access import (
    address_allowed,
    allowed_networks,
    client_address,
    metrics_access_allowed,
)

TOKEN = "a-long-scrape-token"


def asgi_request(
    *, client: str = "127.0.0.1", headers: dict[str, str] | None = None, **extensions: Any
) -> ASGIRequest:
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/metrics",
        "query_string": b"",
        "client": [client, 40000],
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
        "extensions": extensions,
    }
    return ASGIRequest(scope, io.BytesIO())


def test_the_address_judged_is_the_scopes_client() -> None:
    assert client_address(asgi_request(client="10.1.2.3")) == "10.1.2.3"


def test_an_x_forwarded_for_the_client_wrote_changes_nothing() -> None:
    forwarded = {"X-Forwarded-For": "10.9.9.9"}
    assert client_address(asgi_request(client="127.0.0.1", headers=forwarded)) == "127.0.0.1"


def test_the_wsgi_peer_is_remote_addr() -> None:
    assert client_address(RequestFactory().get("/metrics", REMOTE_ADDR="192.0.2.7")) == "192.0.2.7"


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("127.0.0.1", True),
        ("127.5.6.7", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),  # IPv4 on a dual-stack socket
        ("10.0.0.1", False),
        ("2001:db8::1", False),
        ("unix-socket", False),
        (None, False),
    ],
)
def test_loopback_is_the_default_allowed_network(address: str | None, allowed: bool) -> None:
    assert address_allowed(address, allowed_networks(("127.0.0.0/8", "::1"))) is allowed


def test_the_token_lets_any_peer_in(settings: Any) -> None:
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_NETWORKS = ["192.0.2.0/24"]
    far = {"client": "203.0.113.5"}
    assert not metrics_access_allowed(asgi_request(**far))
    assert not metrics_access_allowed(
        asgi_request(**far, headers={"Authorization": "Bearer wrong"})
    )
    assert metrics_access_allowed(asgi_request(**far, headers={"Authorization": f"Bearer {TOKEN}"}))
    assert metrics_access_allowed(asgi_request(client="192.0.2.9"))


def test_no_token_configured_means_no_token_is_accepted(settings: Any) -> None:
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_NETWORKS = ["192.0.2.0/24"]
    request = asgi_request(client="203.0.113.5", headers={"Authorization": "Bearer "})
    assert not metrics_access_allowed(request)


@pytest.mark.django_db
def test_the_endpoint_refuses_with_a_json_403_and_serves_the_text_format(settings: Any) -> None:
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_NETWORKS = ["192.0.2.0/24"]
    client = Client()
    refused = client.get("/metrics")  # the test client's peer is 127.0.0.1
    assert refused.status_code == 403
    assert refused["WWW-Authenticate"].startswith("Bearer")
    assert "METRICS_ALLOWED_NETWORKS" in refused.json()["detail"]
    served = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert served.status_code == 200
    assert served["Content-Type"].startswith("text/plain")
    assert b'csms_commands_outbox{status="queued"} 0.0' in served.content
