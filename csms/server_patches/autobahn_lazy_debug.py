"""Stop autobahn formatting debug output on every WebSocket connection when nobody reads it.

autobahn's protocol calls ``pprint.pformat`` on its options (and on the transport details) for
a debug log line in every handshake, whether debug logging is on or not: measured with py-spy
during a ramp of 5,000 charge points, a sixth of the event loop's CPU. The log call itself is
lazy (txaio formats only the levels that are enabled), so an object that pretty-prints itself
only when it is printed gives the same output when debugging and costs nothing otherwise.
"""

from pprint import pformat
from typing import Any

from autobahn.websocket import protocol


class _PrettyWhenPrinted:
    __slots__ = ("value",)

    def __init__(self, value: Any, *args: Any, **kwargs: Any) -> None:
        self.value = value

    def __str__(self) -> str:
        return pformat(self.value)

    __repr__ = __str__

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


def install() -> None:
    protocol.pformat = _PrettyWhenPrinted
