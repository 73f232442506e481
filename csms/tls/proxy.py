"""The TLS facts a TLS-terminating proxy passes on (deploy/nginx.conf, security profile 3).

nginx verifies the charger's certificate (``ssl_verify_client optional``) and passes what it
found in headers that only it sets (it overwrites whatever a client sent under those names)::

    X-SSL-Client-Cert:   $ssl_client_escaped_cert   the certificate, PEM, URL-encoded
    X-SSL-Client-Verify: $ssl_client_verify         SUCCESS, NONE or FAILED:<reason>
    X-SSL-Protocol:      $ssl_protocol              TLSv1.2, TLSv1.3
    X-SSL-Cipher:        $ssl_cipher                OpenSSL's name of the suite

``proxy_tls_extension`` turns them into the shape of the ASGI TLS extension (``extension``):
``server_cert`` None (the proxy holds it), ``client_cert_chain`` the one certificate nginx
passes (never its intermediates) or ``[]``, ``client_cert_error`` None for SUCCESS and NONE, the
reason for FAILED. Only when the TCP peer is one of ``TRUSTED_PROXIES``: from anyone else the
headers are a client's claim and are ignored (None), as they are when the proxy did not say
anything about client certificates (its plain-HTTP port, say).
"""

import ipaddress
from collections.abc import Iterable, Sequence
from urllib.parse import unquote

from cryptography import x509

from csms.tls.extension import TLS_VERSIONS, TlsExtension, cipher_suite_id

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

CERTIFICATE_HEADER = b"x-ssl-client-cert"
VERIFY_HEADER = b"x-ssl-client-verify"
PROTOCOL_HEADER = b"x-ssl-protocol"
CIPHER_HEADER = b"x-ssl-cipher"
_HEADERS = (CERTIFICATE_HEADER, VERIFY_HEADER, PROTOCOL_HEADER, CIPHER_HEADER)


def trusted_proxy_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """``TRUSTED_PROXIES`` (addresses or CIDRs) as networks; ValueError for a bad entry."""
    return tuple(ipaddress.ip_network(value.strip(), strict=False) for value in values)


def is_trusted_proxy(peer: str | None, trusted_proxies: Sequence[Network]) -> bool:
    if not peer or not trusted_proxies:
        return False
    try:
        address = ipaddress.ip_address(peer.strip("[]"))
    except ValueError:
        return False  # a Unix socket, or no address at all
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return any(address in network for network in trusted_proxies)


def proxy_tls_extension(
    *,
    headers: Iterable[tuple[bytes, bytes]],
    peer: str | None,
    trusted_proxies: Sequence[Network],
) -> TlsExtension | None:
    """The TLS extension the proxy at ``peer`` (the TCP peer's address) describes in
    ``headers`` (ASGI: lower-case names, bytes); None when it is not a trusted proxy or said
    nothing about client certificates."""
    if not is_trusted_proxy(peer, trusted_proxies):
        return None
    values: dict[bytes, list[str]] = {}
    for name, value in headers:
        if name in _HEADERS:
            values.setdefault(name, []).append(value.decode("latin-1"))
    if VERIFY_HEADER not in values:
        return None
    extension = TlsExtension(
        server_cert=None,
        client_cert_chain=[],
        client_cert_name=None,
        client_cert_error=None,
        tls_version=TLS_VERSIONS.get(_single(values, PROTOCOL_HEADER) or ""),
        cipher_suite=cipher_suite_id(_single(values, CIPHER_HEADER)),
    )
    if any(len(found) > 1 for found in values.values()):
        # nginx sets each once; two mean a second hop or a misconfiguration: believe neither.
        extension["client_cert_error"] = "the proxy sent an X-SSL-Client-* header twice"
        return extension
    verdict = values[VERIFY_HEADER][0].strip()
    if verdict == "NONE":
        return extension
    certificate = _certificate(_single(values, CERTIFICATE_HEADER))
    if certificate is None:
        extension["client_cert_error"] = (
            f"the proxy reported {verdict!r} but passed no readable client certificate"
        )
        return extension
    pem, parsed = certificate
    extension["client_cert_chain"] = [pem]
    extension["client_cert_name"] = parsed.subject.rfc4514_string()
    if verdict == "SUCCESS":
        return extension
    if verdict.startswith("FAILED"):
        reason = verdict.partition(":")[2].strip()
        extension["client_cert_error"] = reason or "the proxy could not verify the certificate"
    else:
        extension["client_cert_error"] = f"unexpected X-SSL-Client-Verify value {verdict!r}"
    return extension


def _single(values: dict[bytes, list[str]], name: bytes) -> str | None:
    found = values.get(name)
    return found[0] if found else None


def _certificate(escaped: str | None) -> tuple[str, x509.Certificate] | None:
    if not escaped:
        return None
    pem = unquote(escaped)
    try:
        return pem, x509.load_pem_x509_certificate(pem.encode())
    except ValueError:
        return None
