"""``manage.py make_dev_tls DIR``: certificates to run with TLS on this machine.

Creates (or reuses) a self-signed local CA in ``DIR`` and issues from it:

* ``server.pem`` / ``server-key.pem`` (ECDSA P-256) and ``server-rsa.pem`` /
  ``server-rsa-key.pem`` (RSA 2048) for localhost, 127.0.0.1 and ::1 (``--host`` adds names):
  two key types, so every cipher suite of whitepaper A00.FR.317 can be negotiated;
* with ``--client IDENTITY --organisation ORG``, a charge point's client certificate
  ``client-IDENTITY.pem`` / ``client-IDENTITY-key.pem`` (security profile 3), made the way a
  charger gets one: its own key, a CSR, checked and signed by the CA.

The CA plays both roles of the whitepaper's hierarchy (Central System root and Charge Point CA)
and its key lies unencrypted in ``DIR/ca-key.pem``: for development only. It prints the
settings that serve TLS with these files.
"""

import datetime as dt
import re
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from django.core.management.base import BaseCommand, CommandError

from csms.pki.authorities import (
    AuthorityRole,
    CertificateAuthority,
    authority_generate,
    authority_load,
)
from csms.pki.errors import PkiError
from csms.pki.keys import KeySpec, PrivateKey, private_key_generate
from csms.pki.server_certificates import server_certificate_issue
from csms.pki.signing_requests import csr_create, csr_sign, csr_validate

DEFAULT_HOSTS = ("localhost", "127.0.0.1", "::1")
ORGANISATION = "CSMS development"


class Command(BaseCommand):
    help = "Create a local CA, server certificates and optionally a charge point's certificate."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("directory", type=Path)
        parser.add_argument(
            "--host", action="append", default=[], help="another name or address of the server"
        )
        parser.add_argument("--client", metavar="IDENTITY", help="charge point identity (CN)")
        parser.add_argument(
            "--organisation", metavar="ORG", help="its CPO name (O): the tenant's name"
        )

    def handle(
        self,
        *args: Any,
        directory: Path,
        host: list[str],
        client: str | None,
        organisation: str | None,
        **options: Any,
    ) -> None:
        if client and not organisation:
            raise CommandError("--client needs --organisation (the O of its certificate)")
        directory.mkdir(parents=True, exist_ok=True)
        now = dt.datetime.now(dt.UTC)
        authority = _load_or_create_ca(directory, now=now)
        hostnames = [*DEFAULT_HOSTS, *(name for name in host if name not in DEFAULT_HOSTS)]
        for name, spec in (("server", KeySpec.EC_P256), ("server-rsa", KeySpec.RSA_2048)):
            key, issued = server_certificate_issue(
                authority=authority,
                hostnames=hostnames,
                organisation=ORGANISATION,
                now=now,
                key_spec=spec,
            )
            _write(directory, name, issued.chain_pem, key)
        if client:
            key = private_key_generate()
            try:
                csr = csr_validate(
                    csr_pem=csr_create(
                        private_key=key, common_name=client, organisation=organisation
                    ),
                    identity=client,
                    organisation=organisation,
                )
            except PkiError as refusal:
                raise CommandError(str(refusal)) from None
            issued = csr_sign(csr=csr, authority=authority, now=now)
            _write(directory, f"client-{_file_safe(client)}", issued.chain_pem, key)
        self._report(directory.resolve(), client)

    def _report(self, directory: Path, client: str | None) -> None:
        self.stdout.write(f"Certificates in {directory}. Serve TLS with:")
        for line in (
            f"TLS_CERT_FILE={directory / 'server.pem'}",
            f"TLS_KEY_FILE={directory / 'server-key.pem'}",
            f"TLS_ALT_CERT_FILE={directory / 'server-rsa.pem'}",
            f"TLS_ALT_KEY_FILE={directory / 'server-rsa-key.pem'}",
            f"TLS_CLIENT_CA_FILE={directory / 'ca.pem'}",
        ):
            self.stdout.write(f"  {line}")
        self.stdout.write(f"Charge points (and curl --cacert) trust {directory / 'ca.pem'}.")
        if client:
            name = _file_safe(client)
            self.stdout.write(
                f"Client certificate of {client}: {directory / f'client-{name}.pem'}, "
                f"key {directory / f'client-{name}-key.pem'}"
            )


def _load_or_create_ca(directory: Path, *, now: dt.datetime) -> CertificateAuthority:
    certificate_path, key_path = directory / "ca.pem", directory / "ca-key.pem"
    if certificate_path.exists() and key_path.exists():
        try:
            return authority_load(
                certificate_pem=certificate_path.read_text(),
                private_key_pem=key_path.read_text(),
                now=now,
            )
        except PkiError as refusal:
            raise CommandError(f"{certificate_path}: {refusal} (delete it to start over)") from None
    authority = authority_generate(
        role=AuthorityRole.CENTRAL_SYSTEM_ROOT,
        organisation=ORGANISATION,
        common_name="CSMS development CA",
        now=now,
    )
    _write(directory, "ca", authority.certificate_pem, authority.private_key)
    return authority


def _write(directory: Path, name: str, certificate_pem: str, key: PrivateKey | None) -> None:
    (directory / f"{name}.pem").write_text(certificate_pem)
    if key is not None:
        key_path = directory / f"{name}-key.pem"
        key_path.touch(mode=0o600, exist_ok=True)
        key_path.chmod(0o600)
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )


def _file_safe(identity: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", identity)
