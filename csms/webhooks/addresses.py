"""The SSRF guard: a webhook may only reach public addresses.

Checked when an endpoint is created or changed, and again at every delivery after resolving the
host name; the delivery then connects to exactly the addresses that passed (no second lookup a
DNS-rebinding attacker could answer differently).
"""

import ipaddress
import socket
from urllib.parse import SplitResult, urlsplit

from django.conf import settings

ALLOWED_SCHEMES = ("http", "https")
DEFAULT_PORTS = {"http": 80, "https": 443}

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeUrlError(ValueError):
    """The URL may not be used for a webhook; the message says why."""


def address_is_public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is loopback
    return not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )


def url_parse(url: str) -> SplitResult:
    """Scheme and host checks that need no lookup."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError as exc:
        raise UnsafeUrlError(f"Invalid URL: {exc}.") from exc
    if parts.scheme not in ALLOWED_SCHEMES:
        raise UnsafeUrlError("Only http and https URLs are allowed.")
    if not parts.hostname:
        raise UnsafeUrlError("The URL has no host.")
    if parts.username or parts.password:
        raise UnsafeUrlError("Credentials in the URL are not allowed; sign with the secret.")
    return parts


def host_addresses(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to, in the resolver's order, without duplicates."""
    addresses: list[str] = []
    for *_, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        address = str(sockaddr[0]).split("%", 1)[0]  # an IPv6 scope id is not the address
        if address not in addresses:
            addresses.append(address)
    return addresses


def url_resolve(url: str) -> tuple[SplitResult, list[str]]:
    """The URL's parts and the addresses to connect to; raises :class:`UnsafeUrlError` if the
    host does not resolve or any of its addresses is not public (unless allowed)."""
    parts = url_parse(url)
    port = parts.port or DEFAULT_PORTS[parts.scheme]
    try:
        addresses = host_addresses(parts.hostname or "", port)
    except (OSError, UnicodeError) as exc:
        raise UnsafeUrlError(f"The host {parts.hostname} does not resolve.") from exc
    if not addresses:
        raise UnsafeUrlError(f"The host {parts.hostname} does not resolve.")
    if not settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES:
        # Every address must be public: a name that resolves to one public and one private
        # address could be steered to the private one.
        for host in addresses:
            if not address_is_public(ipaddress.ip_address(host)):
                raise UnsafeUrlError(
                    f"The host {parts.hostname} resolves to a non-public address ({host})."
                )
    return parts, addresses


def url_check(url: str) -> None:
    """Raise :class:`UnsafeUrlError` unless ``url`` may receive webhooks."""
    url_resolve(url)
