"""One question for the application: what do we know about this connection's TLS?

``scope_tls(scope, trusted_proxies=...)`` answers with the ASGI TLS extension (shape in
``extension``): the one our own TLS endpoint put in the scope, else the one a trusted proxy
described in its headers (``proxy``), else None (plain ``ws://``/``http://``, or a proxy we do
not trust). The proxy's trust is judged on the real TCP peer, which only the server patch
(``csms/server_patches/daphne_tls.py``) knows: without it, proxy headers are never believed.
"""

from collections.abc import Sequence
from functools import cache
from typing import Any

from django.conf import settings

from csms.tls.extension import TlsExtension
from csms.tls.proxy import Network, is_trusted_proxy, proxy_tls_extension, trusted_proxy_networks


def scope_tls(scope: dict[str, Any], *, trusted_proxies: Sequence[Network]) -> TlsExtension | None:
    extensions = scope.get("extensions") or {}
    if "tls" in extensions:
        # We terminated TLS ourselves: a header claiming otherwise is the client's invention.
        terminated: TlsExtension = extensions["tls"]
        return terminated
    transport = extensions.get("csms.transport")
    if not transport:
        return None
    return proxy_tls_extension(
        headers=scope.get("headers", []),
        peer=transport["peer"][0],
        trusted_proxies=trusted_proxies,
    )


def scope_client_address(scope: dict[str, Any], *, trusted_proxies: Sequence[Network]) -> str:
    """Where the connection really comes from, for what counts per address (Basic-auth
    lockouts). The TCP peer, unless it is a trusted proxy: then the address that proxy added
    last to X-Forwarded-For (nginx's ``$proxy_add_x_forwarded_for`` appends its client's; the
    earlier entries, and daphne's ``--proxy-headers`` client which takes the first, are
    whatever the client wrote)."""
    transport = (scope.get("extensions") or {}).get("csms.transport")
    if not transport:
        client = scope.get("client") or ("",)
        return str(client[0])
    peer = str(transport["peer"][0])
    if not is_trusted_proxy(peer, trusted_proxies):
        return peer
    forwarded = [
        value.decode("latin-1")
        for name, value in scope.get("headers", [])
        if name == b"x-forwarded-for"
    ]
    hops = [hop.strip() for hop in ",".join(forwarded).split(",") if hop.strip()]
    return hops[-1] if hops else peer


def configured_trusted_proxies() -> tuple[Network, ...]:
    """``settings.TRUSTED_PROXIES`` as networks (parsed once per distinct value)."""
    return _networks(tuple(settings.TRUSTED_PROXIES))


@cache
def _networks(values: tuple[str, ...]) -> tuple[Network, ...]:
    return trusted_proxy_networks(values)
