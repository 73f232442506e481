from urllib.parse import quote

from django.test import override_settings

from csms.tls.proxy import trusted_proxy_networks
from csms.tls.scope import configured_trusted_proxies, scope_client_address, scope_tls
from tests.certificates import charge_point_certificate, hierarchy

PROXIES = trusted_proxy_networks(["10.0.0.0/8"])
LEAF = charge_point_certificate(hierarchy().charge_point_ca, "CP-1").issued.certificate_pem
PROXY_HEADERS = [
    (b"x-ssl-client-cert", quote(LEAF).encode()),
    (b"x-ssl-client-verify", b"SUCCESS"),
    # daphne --proxy-headers turns this into scope["client"]: a client can write it.
    (b"x-forwarded-for", b"10.0.0.5"),
]


def test_our_own_tls_extension_wins_over_any_header() -> None:
    ours = {"client_cert_chain": [], "client_cert_error": None}
    scope = {
        "headers": PROXY_HEADERS,
        "extensions": {"tls": ours, "csms.transport": {"peer": ["10.0.0.5", 443]}},
    }
    assert scope_tls(scope, trusted_proxies=PROXIES) is ours


def test_a_trusted_proxy_peer_is_believed() -> None:
    scope = {"headers": PROXY_HEADERS, "extensions": {"csms.transport": {"peer": ["10.0.0.5", 1]}}}
    assert scope_tls(scope, trusted_proxies=PROXIES)["client_cert_chain"] == [LEAF]


def test_x_forwarded_for_does_not_make_a_client_a_proxy() -> None:
    scope = {
        "headers": PROXY_HEADERS,
        "client": ["10.0.0.5", 0],  # what daphne derived from X-Forwarded-For
        "extensions": {"csms.transport": {"peer": ["203.0.113.9", 50000]}},
    }
    assert scope_tls(scope, trusted_proxies=PROXIES) is None


def test_without_the_server_patch_no_proxy_is_believed() -> None:
    scope = {"headers": PROXY_HEADERS, "client": ["10.0.0.5", 0]}
    assert scope_tls(scope, trusted_proxies=PROXIES) is None


@override_settings(TRUSTED_PROXIES=["127.0.0.1", "10.0.0.0/8"])
def test_trusted_proxies_come_from_settings() -> None:
    assert [str(network) for network in configured_trusted_proxies()] == [
        "127.0.0.1/32",
        "10.0.0.0/8",
    ]


def test_the_client_address_is_the_peer_unless_a_trusted_proxy_names_it() -> None:
    forged = [(b"x-forwarded-for", b"198.51.100.1, 203.0.113.7")]  # the first: the client's own
    behind_proxy = {"headers": forged, "extensions": {"csms.transport": {"peer": ["10.0.0.5", 1]}}}
    direct = {
        "headers": forged,
        "client": ["198.51.100.1", 0],
        "extensions": {"csms.transport": {"peer": ["203.0.113.9", 50000]}},
    }
    assert scope_client_address(behind_proxy, trusted_proxies=PROXIES) == "203.0.113.7"
    assert scope_client_address(direct, trusted_proxies=PROXIES) == "203.0.113.9"
    assert (
        scope_client_address({"client": ["127.0.0.1", 5]}, trusted_proxies=PROXIES) == "127.0.0.1"
    )
