"""The certificates of the TLS e2e tests, made in the test: ``TlsFiles`` writes a tenant's
hierarchy (Central System root, Charge Point CA), the server's two certificates (ECDSA and RSA,
for all four whitepaper suites) and charge points' certificates into a temporary directory.
The servers themselves run with ``tests.servers.running``.
"""

import datetime as dt
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from csms.pki.keys import KeySpec
from csms.pki.server_certificates import server_certificate_issue
from tests.certificates import Hierarchy, charge_point_certificate, hierarchy, pem, utc_now


@dataclass(frozen=True)
class TlsFiles:
    directory: Path
    tenant: Hierarchy
    organisation: str

    @classmethod
    def create(cls, directory: Path, organisation: str) -> "TlsFiles":
        tenant = hierarchy(organisation)
        files = cls(directory, tenant, organisation)
        (directory / "root.pem").write_text(pem(tenant.root.certificate))
        (directory / "charge-point-ca.pem").write_text(pem(tenant.charge_point_ca.certificate))
        # nginx (no partial chains) needs the CA and the root above it.
        (directory / "charge-point-ca-chain.pem").write_text(
            pem(tenant.charge_point_ca.certificate) + pem(tenant.root.certificate)
        )
        for name, spec in (("server", KeySpec.EC_P256), ("server-rsa", KeySpec.RSA_2048)):
            key, issued = server_certificate_issue(
                authority=tenant.root,
                hostnames=["localhost", "127.0.0.1"],
                organisation=organisation,
                now=utc_now(),
                key_spec=spec,
            )
            (directory / f"{name}.pem").write_text(issued.chain_pem)
            (directory / f"{name}-key.pem").write_bytes(
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
        return files

    def path(self, name: str) -> str:
        return str(self.directory / name)

    def client(
        self,
        name: str,
        identity: str,
        *,
        foreign: bool = False,
        now: dt.datetime | None = None,
        valid_days: int = 30,
    ) -> tuple[str, str]:
        """A charge point's certificate (chain) and key files, from this tenant's Charge Point CA
        or, ``foreign``, from another hierarchy with the same organisation name."""
        authority = hierarchy(self.organisation).charge_point_ca if foreign else None
        issued = charge_point_certificate(
            authority or self.tenant.charge_point_ca,
            identity,
            organisation=self.organisation,
            now=now,
            valid_days=valid_days,
        )
        cert_path, key_path = issued.write(self.directory, name)
        return str(cert_path), str(key_path)

    def client_context(
        self,
        certificate: tuple[str, str] | None = None,
        *,
        tls_version: ssl.TLSVersion | None = None,
        ciphers: str | None = None,
    ) -> ssl.SSLContext:
        """What a charge point's TLS stack does: trust the Central System root, present its
        certificate if it has one."""
        context = ssl.create_default_context(cafile=self.path("root.pem"))
        if certificate:
            context.load_cert_chain(*certificate)
        if tls_version:
            context.minimum_version = context.maximum_version = tls_version
        if ciphers:
            context.set_ciphers(ciphers)
        return context

    def server_pem(self) -> str:
        return (self.directory / "server.pem").read_text()
