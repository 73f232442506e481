"""The Twisted endpoint daphne serves TLS with: ``-e csms-tls:PORT:certificate=...``.

Twisted's own ``ssl:`` endpoint string has no way to ask for, verify and report client
certificates, so ``twisted/plugins/csms_tls.py`` registers this one (daphne's ``-e`` takes any
endpoint string Twisted's plugins know). Arguments::

    csms-tls:port=8443:interface=127.0.0.1:backlog=2048
        :certificate=server.pem:privateKey=server-key.pem
        [:altCertificate=server-rsa.pem:altPrivateKey=server-rsa-key.pem]
        [:clientCA=charge-point-cas.pem[:clientCertificate=request|require]]

``manage.py serve`` builds it from the ``TLS_*`` settings (``endpoint_description``).
"""

from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.endpoints import TCP4ServerEndpoint, TCP6ServerEndpoint, quoteStringArgument
from twisted.internet.interfaces import IListeningPort, ISSLTransport, IStreamServerEndpoint
from twisted.internet.protocol import Factory
from twisted.protocols.tls import TLSMemoryBIOFactory, TLSMemoryBIOProtocol
from zope.interface import alsoProvides, implementer

from csms.tls.context import (
    CertificateFiles,
    ClientCertificates,
    ServerConnectionCreator,
    server_context,
)

PREFIX = "csms-tls"


class _SecureTLSProtocol(TLSMemoryBIOProtocol):
    """Twisted's TLS wrapper, declared an ``ISSLTransport``: twisted.web (daphne's HTTP) asks
    that interface whether a request ``isSecure()``, i.e. whether its scheme is https."""

    def makeConnection(self, transport: Any) -> None:  # noqa: N802
        super().makeConnection(transport)
        # After the wrapper copied the TCP transport's interfaces, which replaces its own.
        alsoProvides(self, ISSLTransport)


class _SecureTLSFactory(TLSMemoryBIOFactory):
    protocol = _SecureTLSProtocol


@implementer(IStreamServerEndpoint)
class TlsServerEndpoint:
    def __init__(self, tcp: IStreamServerEndpoint, creator: ServerConnectionCreator) -> None:
        self._tcp = tcp
        self._creator = creator

    def listen(self, protocolFactory: Factory) -> "Deferred[IListeningPort]":  # noqa: N803
        return self._tcp.listen(_SecureTLSFactory(self._creator, False, protocolFactory))


def tls_server_endpoint(
    reactor: Any,
    port: str,
    *,
    certificate: str,
    privateKey: str,  # noqa: N803 (endpoint-string arguments are camelCase, as Twisted's)
    interface: str = "",
    backlog: str = "50",
    altCertificate: str | None = None,  # noqa: N803
    altPrivateKey: str | None = None,  # noqa: N803
    clientCA: str | None = None,  # noqa: N803
    clientCertificate: str | None = None,  # noqa: N803
) -> TlsServerEndpoint:
    """The endpoint of a ``csms-tls:`` string (its arguments as Twisted parsed them)."""
    files = [CertificateFiles(certificate, privateKey)]
    if altCertificate:
        if not altPrivateKey:
            raise ValueError("altCertificate needs altPrivateKey")
        files.append(CertificateFiles(altCertificate, altPrivateKey))
    mode = ClientCertificates(
        clientCertificate or (ClientCertificates.REQUEST if clientCA else ClientCertificates.NONE)
    )
    context = server_context(certificates=files, client_ca_file=clientCA, client_certificates=mode)
    tcp_endpoint = TCP6ServerEndpoint if ":" in interface else TCP4ServerEndpoint
    tcp = tcp_endpoint(reactor, int(port), backlog=int(backlog), interface=interface)
    return TlsServerEndpoint(tcp, ServerConnectionCreator(context))


def endpoint_description(
    *,
    port: int,
    interface: str,
    backlog: int,
    certificate: str,
    private_key: str,
    alt_certificate: str = "",
    alt_private_key: str = "",
    client_ca: str = "",
    client_certificate_required: bool = False,
) -> str:
    """The ``-e`` argument for daphne (paths quoted: ``:`` and ``\\`` are separators there)."""
    arguments = {
        "port": str(port),
        "interface": interface,
        "backlog": str(backlog),
        "certificate": certificate,
        "privateKey": private_key,
    }
    if alt_certificate:
        arguments |= {"altCertificate": alt_certificate, "altPrivateKey": alt_private_key}
    if client_ca:
        arguments["clientCA"] = client_ca
        required = client_certificate_required
        arguments["clientCertificate"] = (
            ClientCertificates.REQUIRE if required else ClientCertificates.REQUEST
        )
    return ":".join(
        [PREFIX, *(f"{key}={quoteStringArgument(value)}" for key, value in arguments.items())]
    )
