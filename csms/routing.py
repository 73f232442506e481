"""WebSocket routes: the OCPP-J endpoint (SPEC §3.2), served with the one OCPP backend."""

from django.urls import re_path

from chargepoints.ocpp_backend import ChargePointBackend
from csms.ocpp.consumer import OcppConsumer, UnknownPathConsumer

websocket_urlpatterns = [
    # The identity is URL-decoded by the server; its length is checked by the handshake so that
    # a too-long identity gets a clear refusal rather than a silent no-route.
    re_path(
        r"^ocpp/(?P<tenant_slug>[-a-zA-Z0-9_]+)/(?P<identity>[^/]+)/?$",
        OcppConsumer.as_asgi(backend=ChargePointBackend()),
    ),
    # Anything else is refused with 404 at the handshake (not a 500 for a missing route).
    re_path(r"", UnknownPathConsumer.as_asgi()),
]
