"""Who may read ``/metrics``: a scraper presenting ``METRICS_TOKEN`` as a bearer token, or one
connecting from ``METRICS_ALLOWED_NETWORKS`` (loopback by default).

The network is judged on the client's address as ``csms.forwarded`` established it: the TCP
peer, or, behind a proxy of ``TRUSTED_PROXIES``, the address that proxy reports. daphne runs
without ``--proxy-headers``, so an ``X-Forwarded-For`` a client writes itself changes nothing.
Behind nginx, scrape the daphne processes directly (``deploy/nginx.conf`` does not pass
``/metrics`` on).
"""

import hmac
import ipaddress
from collections.abc import Sequence
from functools import cache

from django.conf import settings
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@cache
def allowed_networks(values: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(value.strip(), strict=False) for value in values)


def token_presented(request: HttpRequest, token: str) -> bool:
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    return (
        bool(token)
        and scheme.lower() == "bearer"
        and hmac.compare_digest(presented.strip().encode(), token.encode())
    )


def client_address(request: HttpRequest) -> str | None:
    """The address the request came from, as far as we believe anyone (see the module)."""
    scope = getattr(request, "scope", None)
    if scope is None:  # WSGI (the test client): REMOTE_ADDR is the peer
        return request.META.get("REMOTE_ADDR") or None
    client = scope.get("client")
    return str(client[0]) if client else None


def address_allowed(address: str | None, networks: Sequence[Network]) -> bool:
    if not address:
        return False
    try:
        parsed = ipaddress.ip_address(address.strip("[]"))
    except ValueError:
        return False  # a Unix socket
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped:
        parsed = parsed.ipv4_mapped
    return any(parsed in network for network in networks)


def metrics_access_allowed(request: HttpRequest) -> bool:
    if token_presented(request, settings.METRICS_TOKEN):
        return True
    networks = allowed_networks(tuple(settings.METRICS_ALLOWED_NETWORKS))
    return address_allowed(client_address(request), networks)
