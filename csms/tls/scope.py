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
from csms.tls.proxy import Network, proxy_tls_extension, trusted_proxy_networks


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


def configured_trusted_proxies() -> tuple[Network, ...]:
    """``settings.TRUSTED_PROXIES`` as networks (parsed once per distinct value)."""
    return _networks(tuple(settings.TRUSTED_PROXIES))


@cache
def _networks(values: tuple[str, ...]) -> tuple[Network, ...]:
    return trusted_proxy_networks(values)
