"""Our TLS endpoint in a real daphne: what reaches the application, what is refused in the
handshake. The application is a test-only echo of the ASGI scope (``tls_scope_echo``) with the
server patch installed as ``csms.asgi`` installs it; certificates are made in the test."""

import asyncio
import datetime as dt
import http.client
import json
import os
import socket
import ssl
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from websockets.asyncio.client import connect

from csms.pki.client_certificates import client_certificate_verify
from tests.certificates import utc_now
from tests.e2e.tls_files import TlsFiles
from tests.servers import free_port, running

pytestmark = pytest.mark.e2e

ORGANISATION = "Acme Charging"
TLS_1_3, TLS_1_2 = 0x0304, 0x0303


@pytest.fixture(scope="module")
def ports(files: TlsFiles, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, int]]:
    """One daphne, two endpoints: ``request`` (client certificates asked for, failures let
    through and reported) and ``require`` (failures end the handshake)."""
    request, require = free_port(), free_port()
    common = (
        f"interface=127.0.0.1:certificate={files.path('server.pem')}"
        f":privateKey={files.path('server-key.pem')}"
        f":clientCA={files.path('charge-point-ca.pem')}"
    )
    command = [
        str(Path(sys.executable).parent / "daphne"),
        "-e",
        f"csms-tls:port={request}:{common}"
        f":altCertificate={files.path('server-rsa.pem')}"
        f":altPrivateKey={files.path('server-rsa-key.pem')}",
        "-e",
        f"csms-tls:port={require}:{common}:clientCertificate=require",
        "tests.e2e.tls_scope_echo:application",
    ]
    log = tmp_path_factory.mktemp("daphne") / "daphne.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with running(command, env=env, ports=[request, require], log=log):
        yield {"request": request, "require": require}
    assert "Traceback" not in log.read_text(), log.read_text()[-5000:]


def http_facts(port: int, context: ssl.SSLContext) -> dict[str, Any]:
    connection = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=5)
    try:
        connection.request("GET", "/anything")
        response = connection.getresponse()
        assert response.status == 200
        return json.loads(response.read())
    finally:
        connection.close()


async def websocket_facts(port: int, context: ssl.SSLContext) -> dict[str, Any]:
    async with connect(f"wss://127.0.0.1:{port}/ocpp/acme/CP-1", ssl=context, open_timeout=5) as ws:
        return json.loads(await asyncio.wait_for(ws.recv(), 5))


def test_verified_client_certificate_reaches_a_websocket_scope(
    files: TlsFiles, ports: dict[str, int]
) -> None:
    certificate = files.client("cp-1", "CP-1")
    context = files.client_context(certificate)

    facts = asyncio.run(websocket_facts(ports["request"], context))

    tls = facts["extensions"]["tls"]
    chain = Path(certificate[0]).read_text()
    assert "".join(tls["client_cert_chain"]) == chain  # leaf, then the Charge Point CA it sent
    assert tls["client_cert_name"] == "O=Acme Charging,CN=CP-1"
    assert tls["client_cert_error"] is None
    assert tls["server_cert"] == files.server_pem()
    assert tls["tls_version"] == TLS_1_3
    assert tls["cipher_suite"] in {0x1301, 0x1302, 0x1303}
    assert facts["scheme"] == "wss"
    assert facts["extensions"]["csms.transport"]["peer"][0] == "127.0.0.1"
    # The shape the later wiring uses: the chain goes straight into the tenant's verification.
    check = client_certificate_verify(
        chain=tls["client_cert_chain"],
        trusted=[files.tenant.charge_point_ca.certificate],
        identity="CP-1",
        organisation=ORGANISATION,
        now=utc_now(),
    )
    assert check.valid, check.problems


def test_verified_client_certificate_reaches_an_http_scope(
    files: TlsFiles, ports: dict[str, int]
) -> None:
    context = files.client_context(files.client("cp-1-http", "CP-1"))

    facts = http_facts(ports["request"], context)

    assert facts["scheme"] == "https"
    tls = facts["extensions"]["tls"]
    assert tls["client_cert_name"] == "O=Acme Charging,CN=CP-1"
    assert tls["client_cert_error"] is None
    assert len(tls["client_cert_chain"]) == 2


def test_without_a_client_certificate_the_chain_is_empty(
    files: TlsFiles, ports: dict[str, int]
) -> None:
    tls = http_facts(ports["request"], files.client_context())["extensions"]["tls"]

    assert tls["client_cert_chain"] == []
    assert tls["client_cert_name"] is None
    assert tls["client_cert_error"] is None
    assert tls["server_cert"] == files.server_pem()


def test_certificate_of_another_ca_is_let_through_as_unverified(
    files: TlsFiles, ports: dict[str, int]
) -> None:
    context = files.client_context(files.client("foreign", "CP-1", foreign=True))

    tls = asyncio.run(websocket_facts(ports["request"], context))["extensions"]["tls"]

    assert tls["client_cert_name"] == "O=Acme Charging,CN=CP-1"
    assert tls["client_cert_error"].startswith("unable to get local issuer certificate")


def test_expired_certificate_is_let_through_as_unverified(
    files: TlsFiles, ports: dict[str, int]
) -> None:
    old = files.client("expired", "CP-1", now=utc_now() - dt.timedelta(days=40), valid_days=30)
    tls = http_facts(ports["request"], files.client_context(old))["extensions"]["tls"]
    assert tls["client_cert_error"].startswith("certificate has expired")


def test_required_mode_refuses_another_ca_in_the_handshake(
    files: TlsFiles, ports: dict[str, int]
) -> None:
    context = files.client_context(files.client("foreign-2", "CP-1", foreign=True))
    with pytest.raises(ssl.SSLError, match="UNKNOWN_CA"):
        http_facts(ports["require"], context)


def test_required_mode_refuses_a_client_without_certificate(
    files: TlsFiles, ports: dict[str, int]
) -> None:
    with pytest.raises(ssl.SSLError, match="CERTIFICATE_REQUIRED"):
        http_facts(ports["require"], files.client_context())


def test_required_mode_serves_a_verified_client(files: TlsFiles, ports: dict[str, int]) -> None:
    context = files.client_context(files.client("cp-1-required", "CP-1"))
    tls = asyncio.run(websocket_facts(ports["require"], context))["extensions"]["tls"]
    assert tls["client_cert_error"] is None
    assert tls["client_cert_name"] == "O=Acme Charging,CN=CP-1"


@pytest.mark.parametrize(
    ("openssl_name", "iana"),
    [
        ("ECDHE-ECDSA-AES128-GCM-SHA256", 0xC02B),  # whitepaper A00.FR.317, ECDSA certificate
        ("ECDHE-ECDSA-AES256-GCM-SHA384", 0xC02C),
        ("AES128-GCM-SHA256", 0x009C),  # TLS_RSA_WITH_AES_128_GCM_SHA256, RSA certificate
        ("AES256-GCM-SHA384", 0x009D),
    ],
)
def test_each_whitepaper_cipher_suite_is_negotiated_over_tls_1_2(
    files: TlsFiles, ports: dict[str, int], openssl_name: str, iana: int
) -> None:
    context = files.client_context(tls_version=ssl.TLSVersion.TLSv1_2, ciphers=openssl_name)

    tls = http_facts(ports["request"], context)["extensions"]["tls"]

    assert tls["tls_version"] == TLS_1_2
    assert tls["cipher_suite"] == iana
    served = x509.load_pem_x509_certificate(tls["server_cert"].encode())
    assert type(served.public_key()).__name__.startswith("RSA" if iana < 0xC000 else "EC")


def test_a_cipher_suite_outside_the_list_is_refused(files: TlsFiles, ports: dict[str, int]) -> None:
    context = files.client_context(
        tls_version=ssl.TLSVersion.TLSv1_2, ciphers="ECDHE-ECDSA-AES128-SHA"
    )
    with pytest.raises(ssl.SSLError, match="HANDSHAKE_FAILURE"):
        http_facts(ports["request"], context)


def test_sessions_are_not_resumed(files: TlsFiles, ports: dict[str, int]) -> None:
    # A resumed session skips client-certificate verification (context.py): never offer one.
    context = files.client_context(tls_version=ssl.TLSVersion.TLSv1_2)

    def handshake(session: ssl.SSLSession | None) -> ssl.SSLSocket:
        raw = socket.create_connection(("127.0.0.1", ports["request"]), timeout=5)
        return context.wrap_socket(raw, server_hostname="127.0.0.1", session=session)

    with handshake(None) as first:
        session = first.session
    with handshake(session) as second:
        assert not second.session_reused
