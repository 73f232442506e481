"""A connection whose request headers do not arrive within a deadline is dropped.

Twisted's HTTP channel only has an idle time-out (60 s, reset by every byte): a client that
sends its handshake a byte at a time holds a socket, a file descriptor and a protocol object for
as long as it likes — 200 such sockets were held for 90 s (issue 16 §8, "slowloris"). This
gives each connection ``HTTP_HEADERS_TIMEOUT_SECONDS`` from its TCP accept to the end of its
first request's headers (a charger's WebSocket handshake is one small request); later requests
on a keep-alive connection keep Twisted's own idle time-out.
"""

import logging
from typing import Any

from django.conf import settings
from twisted.web.http import HTTPChannel

logger = logging.getLogger(__name__)
security_log = logging.getLogger("csms.security")

_original_connection_made = HTTPChannel.connectionMade
_original_all_headers_received = HTTPChannel.allHeadersReceived
_original_connection_lost = HTTPChannel.connectionLost


def _deadline_cancel(channel: Any) -> None:
    deadline = getattr(channel, "_csms_headers_deadline", None)
    channel._csms_headers_deadline = None
    if deadline is not None and deadline.active():
        deadline.cancel()


def _headers_overdue(channel: Any) -> None:
    channel._csms_headers_deadline = None
    peer = channel.transport.getPeer() if channel.transport else None
    security_log.info(
        "dropped %s: request headers not complete within %s s",
        f"{getattr(peer, 'host', '?')}:{getattr(peer, 'port', '?')}",
        settings.HTTP_HEADERS_TIMEOUT_SECONDS,
    )
    channel.transport.abortConnection()


def _connection_made(self: Any) -> None:
    _original_connection_made(self)
    timeout = settings.HTTP_HEADERS_TIMEOUT_SECONDS
    if timeout > 0:
        from twisted.internet import reactor  # daphne installed its reactor by now

        self._csms_headers_deadline = reactor.callLater(timeout, _headers_overdue, self)


def _all_headers_received(self: Any) -> None:
    _deadline_cancel(self)
    _original_all_headers_received(self)


def _connection_lost(self: Any, reason: Any) -> None:
    _deadline_cancel(self)
    _original_connection_lost(self, reason)


def install() -> None:
    if HTTPChannel.connectionMade is not _connection_made:
        HTTPChannel.connectionMade = _connection_made
        HTTPChannel.allHeadersReceived = _all_headers_received
        HTTPChannel.connectionLost = _connection_lost
