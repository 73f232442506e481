"""Teach daphne the ASGI ``websocket.http.response`` extension (a handshake denial with status).

OCPP-J needs the handshake refused with a meaningful HTTP status: 401 for bad Basic-auth
credentials, 404 for an unknown charge point (OCPP-J §3.2, §7). daphne 4 only knows
``websocket.close`` before accept, which it always turns into 403. Other ASGI servers (uvicorn,
hypercorn) implement the extension themselves; for daphne this module adds it, once, in the
process that loads ``csms.asgi``.
"""

from typing import Any

from autobahn.websocket.types import ConnectionDeny
from daphne.ws_protocol import WebSocketProtocol

_original_handle_reply = WebSocketProtocol.handle_reply


def _handle_reply(self: WebSocketProtocol, message: dict[str, Any]) -> None:
    kind = message.get("type")
    if kind == "websocket.http.response.start" and self.state == self.STATE_CONNECTING:
        self._csms_denial_status = int(message.get("status", 403))
        return
    if kind == "websocket.http.response.body" and self.state == self.STATE_CONNECTING:
        if message.get("more_body"):
            return
        if not hasattr(self, "handshake_deferred"):
            return
        status = getattr(self, "_csms_denial_status", 403)
        reason = bytes(message.get("body", b"")).decode("utf-8", "replace") or "Refused"
        self.handshake_deferred.errback(ConnectionDeny(code=status, reason=reason))
        del self.handshake_deferred
        self.server.protocol_disconnected(self)
        # daphne's access logger reads "client" too (a KeyError without it).
        address = self.client_addr
        client = f"{address[0]}:{address[1]}" if address else None
        self.server.log_action(
            "websocket", "rejected", {"path": self.request.path, "client": client}
        )
        return
    _original_handle_reply(self, message)


def install() -> None:
    if WebSocketProtocol.handle_reply is not _handle_reply:
        WebSocketProtocol.handle_reply = _handle_reply
