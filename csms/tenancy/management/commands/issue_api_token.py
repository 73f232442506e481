from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from csms.tenancy.models import Tenant
from csms.tenancy.services import api_token_issue


class Command(BaseCommand):
    help = "Issue an API token for a tenant; the raw token is the last line of stdout, alone."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--label", default="")

    def handle(self, *args: Any, slug: str, label: str, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is None:
            raise CommandError(f"No tenant {slug!r}; create it with create_tenant first.")
        issued = api_token_issue(tenant=tenant, label=label)
        self.stderr.write(f"Token {issued.token.prefix} for {tenant.slug}; only its hash is kept.")
        self.stdout.write(issued.raw)
