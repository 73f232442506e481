"""Registers the ``csms-tls:`` endpoint string with Twisted (for daphne's ``-e``).

Twisted finds plugins in every ``twisted/plugins`` directory on ``sys.path`` that has no
``__init__.py``; daphne puts its working directory on ``sys.path``, so run daphne from the
repository root (``make run``, the systemd units and the Procfile do). Twisted may write a
``dropin.cache`` here; it is ignored by git. The endpoint itself is ``csms.tls.endpoint``,
imported only when a ``csms-tls:`` string is parsed.
"""

from typing import Any

from twisted.internet.interfaces import IStreamServerEndpointStringParser
from twisted.plugin import IPlugin
from zope.interface import implementer


@implementer(IPlugin, IStreamServerEndpointStringParser)
class CsmsTlsEndpointParser:
    prefix = "csms-tls"

    def parseStreamServer(self, reactor: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N802
        from csms.tls.endpoint import tls_server_endpoint

        return tls_server_endpoint(reactor, *args, **kwargs)


csms_tls_endpoint = CsmsTlsEndpointParser()
