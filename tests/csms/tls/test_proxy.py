from urllib.parse import quote

import pytest

from csms.tls.proxy import proxy_tls_extension, trusted_proxy_networks
from tests.certificates import charge_point_certificate, hierarchy

PROXIES = trusted_proxy_networks(["10.0.0.0/8", "fd00::1"])
LEAF = charge_point_certificate(hierarchy().charge_point_ca, "CP-1").issued.certificate_pem


def _headers(**values: str) -> list[tuple[bytes, bytes]]:
    # As nginx sends them and daphne passes them: lower-case names, latin-1 bytes.
    names = {
        "cert": b"x-ssl-client-cert",
        "verify": b"x-ssl-client-verify",
        "protocol": b"x-ssl-protocol",
        "cipher": b"x-ssl-cipher",
    }
    return [(b"host", b"csms.example.com")] + [
        (names[key], value.encode("latin-1")) for key, value in values.items()
    ]


def test_verified_certificate_from_a_trusted_proxy_has_the_extension_shape() -> None:
    headers = _headers(
        cert=quote(LEAF),
        verify="SUCCESS",
        protocol="TLSv1.2",
        cipher="ECDHE-ECDSA-AES128-GCM-SHA256",
    )

    extension = proxy_tls_extension(headers=headers, peer="10.1.2.3", trusted_proxies=PROXIES)

    assert extension == {
        "server_cert": None,
        "client_cert_chain": [LEAF],
        "client_cert_name": "O=Acme Charging,CN=CP-1",
        "client_cert_error": None,
        "tls_version": 0x0303,
        "cipher_suite": 0xC02B,
    }


def test_headers_from_an_untrusted_peer_are_ignored() -> None:
    headers = _headers(cert=quote(LEAF), verify="SUCCESS")
    assert proxy_tls_extension(headers=headers, peer="192.0.2.7", trusted_proxies=PROXIES) is None
    assert proxy_tls_extension(headers=headers, peer=None, trusted_proxies=PROXIES) is None


def test_no_trusted_proxies_means_no_proxy_is_believed() -> None:
    headers = _headers(cert=quote(LEAF), verify="SUCCESS")
    assert proxy_tls_extension(headers=headers, peer="10.1.2.3", trusted_proxies=()) is None


def test_ipv6_and_ipv4_mapped_peers_are_matched() -> None:
    headers = _headers(verify="NONE")
    assert proxy_tls_extension(headers=headers, peer="fd00::1", trusted_proxies=PROXIES)
    assert proxy_tls_extension(headers=headers, peer="::ffff:10.9.9.9", trusted_proxies=PROXIES)


def test_a_trusted_proxy_that_says_nothing_about_client_certificates_gives_none() -> None:
    # Its plain-HTTP port: no X-SSL-Client-Verify, so no TLS on the client's side.
    assert proxy_tls_extension(headers=_headers(), peer="10.1.2.3", trusted_proxies=PROXIES) is None


def test_tls_client_without_certificate() -> None:
    extension = proxy_tls_extension(
        headers=_headers(verify="NONE", protocol="TLSv1.3"),
        peer="10.1.2.3",
        trusted_proxies=PROXIES,
    )
    assert extension["client_cert_chain"] == []
    assert extension["client_cert_error"] is None
    assert extension["tls_version"] == 0x0304


def test_failed_verification_carries_the_proxys_reason() -> None:
    extension = proxy_tls_extension(
        headers=_headers(cert=quote(LEAF), verify="FAILED:certificate has expired"),
        peer="10.1.2.3",
        trusted_proxies=PROXIES,
    )
    assert extension["client_cert_chain"] == [LEAF]
    assert extension["client_cert_error"] == "certificate has expired"


@pytest.mark.parametrize("verify", ["SUCCESS", "FAILED:x"])
def test_a_verdict_without_a_readable_certificate_is_an_error(verify: str) -> None:
    extension = proxy_tls_extension(
        headers=_headers(cert="garbage", verify=verify), peer="10.1.2.3", trusted_proxies=PROXIES
    )
    assert extension["client_cert_chain"] == []
    assert "no readable client certificate" in extension["client_cert_error"]


def test_an_unknown_verdict_is_not_a_success() -> None:
    extension = proxy_tls_extension(
        headers=_headers(cert=quote(LEAF), verify="MAYBE"), peer="10.1.2.3", trusted_proxies=PROXIES
    )
    assert extension["client_cert_error"] == "unexpected X-SSL-Client-Verify value 'MAYBE'"


def test_a_header_sent_twice_is_believed_in_neither_copy() -> None:
    headers = [*_headers(cert=quote(LEAF), verify="SUCCESS"), (b"x-ssl-client-verify", b"NONE")]
    extension = proxy_tls_extension(headers=headers, peer="10.1.2.3", trusted_proxies=PROXIES)
    assert extension["client_cert_chain"] == []
    assert extension["client_cert_error"] == "the proxy sent an X-SSL-Client-* header twice"


def test_bad_trusted_proxy_entries_are_refused() -> None:
    with pytest.raises(ValueError, match="does not appear"):
        trusted_proxy_networks(["not-an-address"])
