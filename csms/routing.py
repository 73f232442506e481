"""WebSocket routes: the OCPP-J endpoint (SPEC §3.2)."""

from django.urls import re_path

from csms.ocpp.consumer import OcppConsumer

websocket_urlpatterns = [
    # The identity is URL-decoded by the server; its length is checked by the consumer so that
    # a too-long identity gets a clear refusal rather than a silent no-route.
    re_path(
        r"^ocpp/(?P<tenant_slug>[-a-zA-Z0-9_]+)/(?P<identity>[^/]+)/?$",
        OcppConsumer.as_asgi(),
    ),
]
