"""``manage.py create_certificate_authority SLUG``: a tenant's Central System root and Charge
Point CA (whitepaper §2.6.2), generated and stored with their private keys encrypted.

With ``--certificate FILE [--private-key FILE]`` it stores that CA (say, the development CA of
``make_dev_tls``) as the tenant's Charge Point CA instead of generating one.

``--client-ca-file FILE`` also writes the Charge Point CAs of every tenant (each followed by the
CAs above it) to FILE: the bundle for ``TLS_CLIENT_CA_FILE`` (our TLS endpoint) or nginx's
``ssl_client_certificate``. ``--root-file FILE`` writes the tenant's Central System root, for
chargers to trust (InstallCertificate CentralSystemRootCertificate).
"""

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from chargepoints.models import AuthorityRole, CertificateAuthority
from chargepoints.security.authorities import (
    authority_of,
    certificate_authorities_generate,
    certificate_authority_upload,
)
from csms.errors import DomainError
from csms.tenancy.models import Tenant


class Command(BaseCommand):
    help = "Generate a tenant's Central System root and Charge Point CA."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("slug")
        parser.add_argument(
            "--force", action="store_true", help="generate new CAs even if the tenant has some"
        )
        parser.add_argument(
            "--certificate", type=Path, help="store this CA (PEM) as the Charge Point CA"
        )
        parser.add_argument("--private-key", type=Path, help="its private key (PEM)")
        parser.add_argument("--client-ca-file", type=Path, help="write every Charge Point CA here")
        parser.add_argument("--root-file", type=Path, help="write the Central System root here")

    def handle(
        self,
        *args: Any,
        slug: str,
        force: bool,
        certificate: Path | None,
        private_key: Path | None,
        client_ca_file: Path | None,
        root_file: Path | None,
        **options: Any,
    ) -> None:
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is None:
            raise CommandError(f"no tenant {slug!r}")
        existing = authority_of(tenant_id=tenant.pk, role=AuthorityRole.CHARGE_POINT_CA)
        if certificate:
            try:
                stored = certificate_authority_upload(
                    tenant=tenant,
                    role=AuthorityRole.CHARGE_POINT_CA,
                    certificate_pem=certificate.read_text(),
                    private_key_pem=private_key.read_text() if private_key else None,
                )
            except DomainError as error:
                raise CommandError(error.message) from None
            self.stdout.write(f"Charge Point CA: {stored.subject} (uploaded)")
        elif existing is None or force:
            root, charge_point_ca = certificate_authorities_generate(tenant=tenant)
            self.stdout.write(
                f"Central System root: {root.subject} (until {root.not_after:%Y-%m-%d})"
            )
            self.stdout.write(
                f"Charge Point CA: {charge_point_ca.subject} "
                f"(until {charge_point_ca.not_after:%Y-%m-%d})"
            )
        else:
            self.stdout.write(f"{slug} already has a Charge Point CA: {existing.subject} (kept)")
        if root_file:
            root_row = authority_of(tenant_id=tenant.pk, role=AuthorityRole.CENTRAL_SYSTEM_ROOT)
            if root_row is None:
                raise CommandError(f"{slug} has no Central System root (an uploaded CA only?)")
            root_file.parent.mkdir(parents=True, exist_ok=True)
            root_file.write_text(root_row.certificate_pem)
            self.stdout.write(f"wrote {root_file}")
        if client_ca_file:
            bundle = CertificateAuthority.objects.filter(
                role=AuthorityRole.CHARGE_POINT_CA, active=True
            ).values_list("certificate_pem", flat=True)
            client_ca_file.parent.mkdir(parents=True, exist_ok=True)
            client_ca_file.write_text("".join(bundle))
            self.stdout.write(f"wrote {client_ca_file} (every tenant's Charge Point CAs)")
