"""A test-only ASGI application: it answers with what the server put in the scope.

Served by a real daphne on our ``csms-tls:`` endpoint, with the TLS server patch installed as
``csms.asgi`` installs it, so a test sees exactly the ``scope["extensions"]`` the product's
consumers will see. HTTP answers the JSON; a WebSocket is accepted and sent the JSON once.
``scope_tls`` is what ``csms.tls.scope.scope_tls`` makes of the scope, trusting the proxies in
``ECHO_TRUSTED_PROXIES`` (comma-separated; for the test behind nginx).
"""

import json
import os
from typing import Any

from csms.server_patches import daphne_tls
from csms.tls.proxy import trusted_proxy_networks
from csms.tls.scope import scope_tls

daphne_tls.install()
TRUSTED_PROXIES = trusted_proxy_networks(
    value for value in os.environ.get("ECHO_TRUSTED_PROXIES", "").split(",") if value
)


def _facts(scope: dict[str, Any]) -> bytes:
    return json.dumps(
        {
            "type": scope["type"],
            "scheme": scope.get("scheme"),
            "client": scope.get("client"),
            "extensions": scope.get("extensions", {}),
            "scope_tls": scope_tls(scope, trusted_proxies=TRUSTED_PROXIES),
        }
    ).encode()


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "http":
        while (await receive()).get("more_body"):
            pass
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": _facts(scope)})
    elif scope["type"] == "websocket":
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": _facts(scope).decode()})
        while (await receive())["type"] != "websocket.disconnect":
            pass
