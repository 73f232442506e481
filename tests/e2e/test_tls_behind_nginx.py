"""deploy/nginx.conf in front of daphne: the profile-3 variant passes the verified client
certificate in headers that only nginx sets, and ``csms.tls.scope.scope_tls`` reads them into the
TLS extension's shape, believing them from TRUSTED_PROXIES only.

The real configuration file, with its ports, upstream and certificate paths pointed at this
test's; needs an ``nginx`` binary on the machine (skipped, and saying so, without one).
"""

import http.client
import json
import os
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.nginx_front import NGINX, nginx_in_front
from tests.e2e.tls_files import TlsFiles

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(NGINX is None, reason="nginx is not installed on this machine"),
]


@pytest.fixture(scope="module")
def nginx(files: TlsFiles, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, int]]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "ECHO_TRUSTED_PROXIES": "127.0.0.1"}
    with nginx_in_front(
        files,
        tmp_path_factory.mktemp("nginx"),
        application="tests.e2e.tls_scope_echo:application",
        env=env,
    ) as ports:
        yield ports


def request(
    port: int, context: ssl.SSLContext | None = None, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    if context is None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    else:
        connection = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=5)
    try:
        connection.request("GET", "/ocpp/acme/CP-1", headers=headers or {})
        response = connection.getresponse()
        body = response.read()
        return response.status, json.loads(body) if response.status == 200 else body
    finally:
        connection.close()


FORGED = {
    "X-SSL-Client-Verify": "SUCCESS",
    "X-SSL-Client-Cert": "forged",
    "X-Forwarded-For": "127.0.0.1",
}


def test_profile_3_port_passes_the_verified_certificate(
    files: TlsFiles, nginx: dict[str, int]
) -> None:
    certificate = files.client("cp-1", "CP-1")

    status, facts = request(nginx["profile3"], files.client_context(certificate))

    assert status == 200
    tls = facts["scope_tls"]
    leaf = Path(certificate[0]).read_text().split("-----END CERTIFICATE-----")[0]
    assert tls["client_cert_chain"] == [leaf + "-----END CERTIFICATE-----\n"]
    assert tls["client_cert_name"] == "O=Acme Charging,CN=CP-1"
    assert tls["client_cert_error"] is None
    assert tls["server_cert"] is None
    assert tls["tls_version"] in {0x0303, 0x0304}
    assert isinstance(tls["cipher_suite"], int)


def test_profile_3_port_lets_a_charger_without_certificate_through_as_such(
    files: TlsFiles, nginx: dict[str, int]
) -> None:
    status, facts = request(nginx["profile3"], files.client_context(), headers=FORGED)
    assert status == 200
    assert facts["scope_tls"]["client_cert_chain"] == []  # the forged headers were replaced
    assert facts["scope_tls"]["client_cert_error"] is None


def test_profile_3_port_refuses_a_certificate_of_another_ca(
    files: TlsFiles, nginx: dict[str, int]
) -> None:
    context = files.client_context(files.client("foreign", "CP-1", foreign=True))
    status, _ = request(nginx["profile3"], context)
    assert status == 400  # nginx's "The SSL certificate error" (ssl_verify_client optional)


def test_profile_2_port_says_tls_without_client_certificate(
    files: TlsFiles, nginx: dict[str, int]
) -> None:
    status, facts = request(nginx["profile2"], files.client_context(), headers=FORGED)
    assert status == 200
    assert facts["scope_tls"]["client_cert_chain"] == []
    assert facts["scope_tls"]["tls_version"] in {0x0303, 0x0304}


def test_plain_port_strips_forged_headers(nginx: dict[str, int]) -> None:
    status, facts = request(nginx["plain"], headers=FORGED)
    assert status == 200
    assert facts["scope_tls"] is None
