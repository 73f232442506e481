import io
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from django.core.management import CommandError, call_command

from csms.pki.client_certificates import client_certificate_verify
from tests.certificates import utc_now


def _make(directory: Path, *args: str) -> str:
    out = io.StringIO()
    call_command("make_dev_tls", str(directory), *args, stdout=out)
    return out.getvalue()


def _certificates(path: Path) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(path.read_bytes())


def test_creates_a_ca_and_server_certificates_for_localhost(tmp_path: Path) -> None:
    output = _make(tmp_path)

    (ca,) = _certificates(tmp_path / "ca.pem")
    for name in ("server", "server-rsa"):
        (server,) = _certificates(tmp_path / f"{name}.pem")
        server.verify_directly_issued_by(ca)
        names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert names.get_values_for_type(x509.DNSName) == ["localhost"]
        assert {str(a) for a in names.get_values_for_type(x509.IPAddress)} == {"127.0.0.1", "::1"}
        usage = server.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        assert list(usage) == [ExtendedKeyUsageOID.SERVER_AUTH]
        assert stat.S_IMODE((tmp_path / f"{name}-key.pem").stat().st_mode) == 0o600
    assert f"TLS_CERT_FILE={tmp_path / 'server.pem'}" in output
    assert f"TLS_CLIENT_CA_FILE={tmp_path / 'ca.pem'}" in output


def test_client_certificate_verifies_for_its_identity(tmp_path: Path) -> None:
    _make(tmp_path, "--client", "CP-1", "--organisation", "Acme Charging")

    (ca,) = _certificates(tmp_path / "ca.pem")
    check = client_certificate_verify(
        chain=[(tmp_path / "client-CP-1.pem").read_text()],
        trusted=[ca],
        identity="CP-1",
        organisation="Acme Charging",
        now=utc_now(),
    )
    assert check.valid, check.problems


def test_a_second_run_keeps_the_ca_so_earlier_certificates_stay_valid(tmp_path: Path) -> None:
    _make(tmp_path, "--client", "CP-1", "--organisation", "Acme Charging")
    first_ca = (tmp_path / "ca.pem").read_bytes()

    _make(tmp_path, "--client", "CP-2", "--organisation", "Acme Charging", "--host", "csms.lan")

    assert (tmp_path / "ca.pem").read_bytes() == first_ca
    (server,) = _certificates(tmp_path / "server.pem")
    names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "csms.lan" in names.get_values_for_type(x509.DNSName)
    assert (tmp_path / "client-CP-1.pem").exists() and (tmp_path / "client-CP-2.pem").exists()


def test_client_needs_an_organisation(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="--organisation"):
        _make(tmp_path, "--client", "CP-1")


def test_an_identity_the_whitepaper_forbids_as_cn_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match=r"A00\.FR\.511"):
        _make(tmp_path, "--client", "10.0.0.1", "--organisation", "Acme")
