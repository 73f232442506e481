from argparse import ArgumentParser
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_slug

from csms.tenancy.services import tenant_create_or_update


class Command(BaseCommand):
    help = "Create a tenant (idempotent: an existing tenant is kept, its name updated)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--name", default=None)

    def handle(self, *args: Any, slug: str, name: str | None, **options: Any) -> None:
        try:
            validate_slug(slug)
        except ValidationError as exc:
            raise CommandError(f"Invalid slug {slug!r}: {exc.messages[0]}") from exc
        tenant, created = tenant_create_or_update(slug=slug, name=name)
        verb = "Created" if created else "Tenant exists:"
        self.stdout.write(f"{verb} {tenant.slug} ({tenant.name})")
