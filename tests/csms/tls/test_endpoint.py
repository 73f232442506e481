import pytest
from OpenSSL import SSL
from twisted.internet.endpoints import serverFromString
from twisted.internet.testing import MemoryReactor

from csms.tls.context import (
    TLS12_CIPHER_SUITES,
    CertificateFiles,
    ClientCertificates,
    server_context,
)
from csms.tls.endpoint import TlsServerEndpoint, endpoint_description
from csms.tls.extension import cipher_suite_id
from tests.e2e.tls_files import TlsFiles


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return TlsFiles.create(tmp_path_factory.mktemp("tls"), "Acme Charging")


def test_description_quotes_paths_and_names_the_client_certificate_mode() -> None:
    description = endpoint_description(
        port=8443,
        interface="127.0.0.1",
        backlog=2048,
        certificate="/etc/csms/tls:1/server.pem",
        private_key="/etc/csms/server-key.pem",
        client_ca="/etc/csms/cas.pem",
        client_certificate_required=True,
    )
    assert description == (
        "csms-tls:port=8443:interface=127.0.0.1:backlog=2048"
        r":certificate=/etc/csms/tls\:1/server.pem:privateKey=/etc/csms/server-key.pem"
        ":clientCA=/etc/csms/cas.pem:clientCertificate=require"
    )


def test_the_plugin_makes_twisted_understand_our_endpoint_string(files: TlsFiles) -> None:
    description = endpoint_description(
        port=0,
        interface="127.0.0.1",
        backlog=10,
        certificate=files.path("server.pem"),
        private_key=files.path("server-key.pem"),
        alt_certificate=files.path("server-rsa.pem"),
        alt_private_key=files.path("server-rsa-key.pem"),
        client_ca=files.path("charge-point-ca.pem"),
    )
    assert isinstance(serverFromString(MemoryReactor(), description), TlsServerEndpoint)


def test_a_key_that_does_not_belong_to_the_certificate_is_refused_at_start(
    files: TlsFiles,
) -> None:
    with pytest.raises(SSL.Error):
        server_context(
            certificates=[
                CertificateFiles(files.path("server.pem"), files.path("server-rsa-key.pem"))
            ]
        )


def test_client_certificates_need_a_ca_file(files: TlsFiles) -> None:
    with pytest.raises(ValueError, match="CA file"):
        server_context(
            certificates=[CertificateFiles(files.path("server.pem"), files.path("server-key.pem"))],
            client_certificates=ClientCertificates.REQUIRE,
        )


def test_every_allowed_tls12_suite_has_an_iana_number() -> None:
    # The extension reports suites by number (ASGI TLS spec): none of ours may come out None.
    assert {cipher_suite_id(name) for name, _ in TLS12_CIPHER_SUITES} == {
        0xC02B, 0xC02C, 0xC02F, 0xC030, 0x009C, 0x009D,
    }  # fmt: skip
    assert cipher_suite_id("TLS_AES_128_GCM_SHA256") == 0x1301
    assert cipher_suite_id("no such suite") is None
    assert cipher_suite_id(None) is None
