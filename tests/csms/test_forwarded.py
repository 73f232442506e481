"""X-Forwarded-For is believed from TRUSTED_PROXIES only (csms.forwarded)."""

from typing import Any

from django.test import override_settings

from csms.forwarded import forwarded_client


def scope(peer: str, forwarded: str | None) -> dict[str, Any]:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    return {"type": "websocket", "client": [peer, 50000], "headers": headers}


def test_without_trusted_proxies_the_client_is_the_tcp_peer() -> None:
    assert forwarded_client(scope("198.51.100.7", "203.0.113.66")) is None


@override_settings(TRUSTED_PROXIES=["127.0.0.1"])
def test_a_trusted_proxy_names_the_client_it_appended() -> None:
    # nginx appends the address it saw; what comes before is the client's own claim.
    assert forwarded_client(scope("127.0.0.1", "203.0.113.66, 198.51.100.7")) == [
        "198.51.100.7",
        0,
    ]


@override_settings(TRUSTED_PROXIES=["127.0.0.1"])
def test_a_peer_that_is_not_a_trusted_proxy_is_not_believed() -> None:
    assert forwarded_client(scope("198.51.100.9", "203.0.113.66")) is None
