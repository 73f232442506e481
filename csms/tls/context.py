"""The OpenSSL server context of our TLS endpoint (security profiles 2 and 3).

Whitepaper edition 3, §2.4.1 and §2.5.1:

* A00.FR.312/416: TLS 1.2 or above. TLS 1.0/1.1 "MAY be used by Charge Points that cannot
  support TLS v1.2", only when the Central System expects such chargers (A00.FR.324/428); we
  expect none, so older versions are refused in the handshake (A00.FR.314/418).
* A00.FR.317/421: the Central System supports at least TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, TLS_RSA_WITH_AES_128_GCM_SHA256 and
  TLS_RSA_WITH_AES_256_GCM_SHA384 — the ECDSA pair needs an ECDSA certificate and the RSA pair an
  RSA one, hence the optional second certificate. We add the ECDHE_RSA GCM pair, for forward
  secrecy with an RSA certificate (the whitepaper prefers ECDHE, A00.FR.318 note), and nothing
  else (A00.FR.319). TLS 1.3 uses its own, all-AEAD suites (OpenSSL's defaults).
* A00.FR.320/424: no TLS compression.

Client certificates (profile 3, A00.FR.401-408), with ``TLS_CLIENT_CA_FILE``:

* ``request`` (the default): the server asks every client for a certificate and verifies one
  that is sent against the CA bundle, but lets the handshake complete either way, recording why
  a certificate failed. One port then serves profile 2 chargers (no certificate, Basic auth)
  and profile 3 ones: only after the handshake, from the URL, do we know which charger it is
  and which profile it must use, so the application refuses a profile-3 charger without a valid
  certificate — with an HTTP status and a security event naming the charger and the reason
  (A00.FR.407/408), which a failed handshake could not give.
* ``require``: a client without a certificate that verifies fails the handshake itself. For a
  port that serves profile 3 only (A00.FR.006 allows one profile per port).

Session resumption is off: a resumed session skips certificate verification, and the reason a
certificate failed (kept per connection, below) would be lost. Chargers keep one connection
for hours, so the saved handshakes are few. Renegotiation is off too, so the peer certificate
cannot change after the application has seen it.
"""

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from weakref import WeakKeyDictionary

from OpenSSL import SSL, crypto
from twisted.internet.interfaces import IOpenSSLServerConnectionCreator
from zope.interface import implementer

from csms.tls.extension import TlsExtension, tls_extension

# (OpenSSL name, IANA name): the whitepaper's four first, in order of preference.
TLS12_CIPHER_SUITES = (
    ("ECDHE-ECDSA-AES128-GCM-SHA256", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"),
    ("ECDHE-ECDSA-AES256-GCM-SHA384", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"),
    ("ECDHE-RSA-AES128-GCM-SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
    ("ECDHE-RSA-AES256-GCM-SHA384", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"),
    ("AES128-GCM-SHA256", "TLS_RSA_WITH_AES_128_GCM_SHA256"),
    ("AES256-GCM-SHA384", "TLS_RSA_WITH_AES_256_GCM_SHA384"),
)


class ClientCertificates(enum.StrEnum):
    NONE = "none"
    REQUEST = "request"
    REQUIRE = "require"


@dataclass(frozen=True)
class CertificateFiles:
    certificate: str  # PEM: the certificate first, then its intermediates
    private_key: str


def server_context(
    *,
    certificates: Sequence[CertificateFiles],
    client_ca_file: str | None = None,
    client_certificates: ClientCertificates = ClientCertificates.NONE,
) -> SSL.Context:
    """A context for ``certificates`` (one per key type), asking for client certificates as
    ``client_certificates`` says. Raises ``SSL.Error`` for unreadable or mismatched files."""
    if not certificates:
        raise ValueError("a TLS server needs a certificate")
    context = SSL.Context(SSL.TLS_SERVER_METHOD)
    context.set_min_proto_version(SSL.TLS1_2_VERSION)
    context.set_options(
        SSL.OP_NO_COMPRESSION
        | SSL.OP_NO_RENEGOTIATION
        | SSL.OP_CIPHER_SERVER_PREFERENCE
        | SSL.OP_NO_TICKET
    )
    context.set_session_cache_mode(SSL.SESS_CACHE_OFF)
    context.set_cipher_list(":".join(name for name, _ in TLS12_CIPHER_SUITES).encode())
    for files in certificates:
        # OpenSSL keeps one certificate per key type: an RSA and an ECDSA one side by side, the
        # handshake picks the one the client's cipher suites and signature algorithms allow.
        context.use_certificate_chain_file(files.certificate.encode())
        context.use_privatekey_file(files.private_key.encode())
        context.check_privatekey()
    if client_certificates is not ClientCertificates.NONE:
        if not client_ca_file:
            raise ValueError("client certificates are verified against a CA file: give one")
        context.load_verify_locations(client_ca_file.encode())
        # A tenant's Charge Point CA is often a sub-CA of its Central System root: trust what
        # the bundle holds as it is, without insisting on a self-signed root above it (the same
        # rule as csms.pki.client_certificates).
        store = context.get_cert_store()
        if store is None:  # pyOpenSSL gives every context a store; None would be a broken build
            raise SSL.Error("the TLS context has no certificate store")
        store.set_flags(crypto.X509StoreFlags.PARTIAL_CHAIN)
        # The CertificateRequest names these CAs, so a charger with several certificates can
        # pick the right one.
        context.load_client_ca(client_ca_file.encode())
        if client_certificates is ClientCertificates.REQUIRE:
            context.set_verify(
                SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT, _refuse_unverified
            )
        else:
            context.set_verify(SSL.VERIFY_PEER, _remember_unverified)
    # Same value for every process, so that a client certificate is accepted by any of them.
    context.set_session_id(b"csms-tls")
    return context


@implementer(IOpenSSLServerConnectionCreator)
class ServerConnectionCreator:
    """What Twisted's TLS wrapper asks for one ``SSL.Connection`` per accepted socket."""

    def __init__(self, context: SSL.Context) -> None:
        self._context = context

    def serverConnectionForTLS(self, tlsProtocol: object) -> SSL.Connection:  # noqa: N802, N803
        return SSL.Connection(self._context, None)


def connection_tls_extension(connection: SSL.Connection) -> TlsExtension:
    """The ASGI TLS extension of a connection whose handshake is done; computed once per
    connection (an HTTP keep-alive connection carries many requests)."""
    record = _handshakes.setdefault(connection, _Handshake())
    if record.extension is None:
        record.extension = tls_extension(connection=connection, client_cert_error=record.error)
    return TlsExtension(**record.extension)


@dataclass
class _Handshake:
    error: str | None = None
    extension: TlsExtension | None = None


# Per live connection; an entry goes when Twisted drops its connection object.
_handshakes: WeakKeyDictionary[SSL.Connection, _Handshake] = WeakKeyDictionary()


def _remember_unverified(
    connection: SSL.Connection, certificate: crypto.X509, error: int, depth: int, ok: int
) -> bool:
    if not ok:
        record = _handshakes.setdefault(connection, _Handshake())
        # Later failures in the same chain follow from the first one: keep that.
        if record.error is None:
            reason = _X509_ERRORS.get(error, "verification failed")
            record.error = f"{reason} (X509_V_ERR {error}, at depth {depth})"
    return True


def _refuse_unverified(
    connection: SSL.Connection, certificate: crypto.X509, error: int, depth: int, ok: int
) -> bool:
    return bool(ok)


# OpenSSL's texts (x509_txt.c) of the verification errors a client certificate meets.
_X509_ERRORS = {
    2: "unable to get issuer certificate",
    4: "unable to decrypt certificate's signature",
    7: "certificate signature failure",
    9: "certificate is not yet valid",
    10: "certificate has expired",
    18: "self-signed certificate",
    19: "self-signed certificate in certificate chain",
    20: "unable to get local issuer certificate",
    21: "unable to verify the first certificate",
    22: "certificate chain too long",
    24: "invalid CA certificate",
    25: "path length constraint exceeded",
    26: "unsupported certificate purpose",
    28: "certificate rejected",
    32: "key usage does not include certificate signing",
}
