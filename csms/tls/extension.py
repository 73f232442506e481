"""The ASGI TLS extension: what the application learns about a connection's TLS.

Its shape follows the ASGI spec's TLS extension (asgiref ``specs/tls.rst``, version 0.2), in
``scope["extensions"]["tls"]`` of HTTP and WebSocket scopes of TLS connections only::

    {
        "server_cert": "-----BEGIN CERTIFICATE-----...",   # PEM of our certificate; None
                                                          # when a proxy terminated TLS
        "client_cert_chain": ["-----BEGIN CERTIFICATE-----...", ...],
                                     # PEMs, the client's certificate first, then the
                                     # intermediates it sent; [] when it sent none
        "client_cert_name": "O=Acme Charging,CN=CP-1",     # RFC 4514 subject, or None
        "client_cert_error": None,   # None: verified by the TLS layer, or none presented;
                                     # a string: why verification failed (the connection was
                                     # let through so the application can refuse and log it)
        "tls_version": 0x0304,       # 0x0303 TLS 1.2, 0x0304 TLS 1.3; None if unknown
        "cipher_suite": 0x1302,      # IANA number (0xC02B = ECDHE-ECDSA-AES128-GCM-SHA256)
    }

A chain with ``client_cert_error`` set proves nothing. A verified chain proves only that *some*
CA in ``TLS_CLIENT_CA_FILE`` vouches for it: which tenant and which identity it belongs to is
``csms.pki.client_certificates.client_certificate_verify``'s question.
"""

import ssl
from functools import cache
from typing import TypedDict

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from OpenSSL import SSL

TLS_VERSIONS = {"TLSv1": 0x0301, "TLSv1.1": 0x0302, "TLSv1.2": 0x0303, "TLSv1.3": 0x0304}


class TlsExtension(TypedDict):
    server_cert: str | None
    client_cert_chain: list[str]
    client_cert_name: str | None
    client_cert_error: str | None
    tls_version: int | None
    cipher_suite: int | None


def tls_extension(
    *,
    connection: SSL.Connection,
    client_cert_error: str | None,
) -> TlsExtension:
    """The extension of an OpenSSL connection whose handshake is complete."""
    leaf = connection.get_peer_certificate(as_cryptography=True)
    presented: list[x509.Certificate] = []
    if leaf is not None:
        # On the server side OpenSSL's "peer chain" may or may not repeat the leaf.
        sent = connection.get_peer_cert_chain(as_cryptography=True) or []
        presented = [leaf, *(c for c in sent if c != leaf)]
    server = connection.get_certificate(as_cryptography=True)
    return TlsExtension(
        server_cert=_pem(server) if server is not None else None,
        client_cert_chain=[_pem(c) for c in presented],
        client_cert_name=leaf.subject.rfc4514_string() if leaf is not None else None,
        client_cert_error=client_cert_error if leaf is not None else None,
        tls_version=connection.get_protocol_version() or None,
        cipher_suite=cipher_suite_id(connection.get_cipher_name()),
    )


def cipher_suite_id(openssl_name: str | None) -> int | None:
    """The IANA number of a cipher suite named as OpenSSL names it (nginx's ``$ssl_cipher``,
    pyOpenSSL's ``get_cipher_name``): ``"ECDHE-ECDSA-AES128-GCM-SHA256"`` -> ``0xC02B``."""
    if not openssl_name:
        return None
    return _openssl_cipher_ids().get(openssl_name)


@cache
def _openssl_cipher_ids() -> dict[str, int]:
    # OpenSSL's names are its own; the IANA numbers are what the ASGI spec wants. The standard
    # library's OpenSSL lists both for every suite it knows (the low 16 bits of its id).
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.set_ciphers("ALL:@SECLEVEL=0")
    return {cipher["name"]: cipher["id"] & 0xFFFF for cipher in context.get_ciphers()}


def _pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")
