"""Tell the application what the connection itself knows: its TLS, and its real TCP peer.

daphne puts nothing about TLS in the ASGI scope. This patch adds, to every HTTP and WebSocket
scope daphne creates:

* ``scope["extensions"]["tls"]`` — the ASGI TLS extension (shape: ``csms.tls.extension``), for
  connections that came through our TLS endpoint (``csms.tls.endpoint``) only, as the spec says;
  and the scheme those connections really use (``https``/``wss``: daphne says ``http`` or
  nothing);
* ``scope["extensions"]["csms.transport"] = {"peer": [host, port]}`` — the TCP peer. With
  ``--proxy-headers`` daphne replaces ``scope["client"]`` with the first address of
  X-Forwarded-For, which any client can write; whether a request came from a trusted proxy
  (whose X-SSL-Client-* headers may be believed, ``csms.tls.proxy``) must be decided on this one.

Both are read once per connection; an HTTP keep-alive connection reuses them.
"""

from typing import Any

from daphne.server import Server
from OpenSSL import SSL

from csms.tls.context import connection_tls_extension

_original_create_application = Server.create_application


def _create_application(self: Server, protocol: Any, scope: dict[str, Any]) -> Any:
    transport = _transport(protocol)
    if transport is not None:
        extensions = scope.setdefault("extensions", {})
        peer = transport.getPeer()
        if hasattr(peer, "host") and hasattr(peer, "port"):
            extensions["csms.transport"] = {"peer": [str(peer.host), peer.port]}
        handle = transport.getHandle() if hasattr(transport, "getHandle") else None
        if isinstance(handle, SSL.Connection):
            extensions["tls"] = connection_tls_extension(handle)
            scope["scheme"] = "wss" if scope["type"] == "websocket" else "https"
    return _original_create_application(self, protocol, scope)


def _transport(protocol: Any) -> Any:
    # A WebSocket protocol holds the transport itself; an HTTP request reaches it through its
    # channel (daphne takes the request's own reference away when it upgrades to WebSocket).
    transport = getattr(protocol, "transport", None)
    if transport is None:
        transport = getattr(getattr(protocol, "channel", None), "transport", None)
    return transport


def install() -> None:
    if Server.create_application is not _create_application:
        Server.create_application = _create_application
