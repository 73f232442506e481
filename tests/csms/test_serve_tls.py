from django.test import override_settings

from csms.management.commands.serve import daphne_command


def _endpoints(command: list[str]) -> list[str]:
    return [command[i + 1] for i, arg in enumerate(command) if arg == "-e"]


@override_settings(TLS_CERT_FILE="")
def test_without_a_certificate_only_plain_http_is_served() -> None:
    (endpoint,) = _endpoints(daphne_command(host="127.0.0.1", port=8000, backlog=2048))
    assert endpoint == "tcp:port=8000:interface=127.0.0.1:backlog=2048"


@override_settings(
    TLS_CERT_FILE="/tls/server.pem",
    TLS_KEY_FILE="/tls/server-key.pem",
    TLS_ALT_CERT_FILE="",
    TLS_PORT=9443,
    TLS_CLIENT_CA_FILE="/tls/cas.pem",
    TLS_CLIENT_CERT_REQUIRED=False,
)
def test_with_a_certificate_the_same_daphne_also_serves_tls() -> None:
    plain, tls = _endpoints(daphne_command(host="127.0.0.1", port=8000, backlog=2048))
    assert plain.startswith("tcp:port=8000:")
    assert tls == (
        "csms-tls:port=9443:interface=127.0.0.1:backlog=2048:certificate=/tls/server.pem"
        ":privateKey=/tls/server-key.pem:clientCA=/tls/cas.pem:clientCertificate=request"
    )
