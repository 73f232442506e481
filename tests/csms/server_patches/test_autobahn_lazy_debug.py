"""autobahn's per-connection debug output is formatted only when it is printed."""

from pprint import pformat

from autobahn.websocket import protocol

from csms.server_patches import autobahn_lazy_debug


class Unprintable:
    def __repr__(self) -> str:
        raise AssertionError("formatted although nobody printed it")


def test_installed_pformat_defers_the_work_until_printed() -> None:
    autobahn_lazy_debug.install()
    options = [("openHandshakeTimeout", 5, "WebSocketServerFactory")]

    assert protocol.pformat(Unprintable()) is not None  # nothing formatted yet
    assert str(protocol.pformat(options)) == pformat(options)
    # txaio formats its log templates with str.format, only for enabled levels
    template = "{attrs}"
    assert template.format(attrs=protocol.pformat(options)) == pformat(options)
