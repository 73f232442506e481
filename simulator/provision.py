"""Create a simulated fleet's tenant, charge points and idTags in our own database.

Bulk inserts, idempotent: a fleet of 10,000 is ready in seconds, and running it twice changes
nothing but presence left behind by a killed run. With a password, one hash serves every
charge point (PBKDF2 per charge point would cost minutes for a large fleet; the salt only
matters between different secrets).
"""

from dataclasses import dataclass

from django.db import transaction

from chargepoints.models import ChargePoint, IdTag
from chargepoints.passwords import hash_password
from csms.tenancy.models import Tenant
from simulator.config import FleetConfig

BATCH = 2000


@dataclass(frozen=True)
class Provisioned:
    tenant: Tenant
    charge_points_created: int
    id_tags_created: int


def fleet_provision(*, tenant_slug: str, config: FleetConfig) -> Provisioned:
    indexes = range(config.start_index, config.start_index + config.count)
    identities = [config.identity(index) for index in indexes]
    tags = [config.id_tag(index) for index in indexes]
    password_hash = hash_password(config.password) if config.password else ""
    with transaction.atomic():
        tenant, _ = Tenant.objects.get_or_create(
            slug=tenant_slug, defaults={"name": f"Simulated fleet {tenant_slug}"}
        )
        existing = set(
            ChargePoint.objects.filter(tenant=tenant, identity__in=identities).values_list(
                "identity", flat=True
            )
        )
        ChargePoint.objects.bulk_create(
            (
                ChargePoint(tenant=tenant, identity=identity, password_hash=password_hash)
                for identity in identities
                if identity not in existing
            ),
            batch_size=BATCH,
        )
        fleet = ChargePoint.objects.filter(tenant=tenant, identity__in=identities)
        # Presence a killed earlier run left behind; and the password asked for now.
        fleet.filter(connected=True).update(connected=False, channel_name="")
        fleet.exclude(password_hash=password_hash).update(password_hash=password_hash)
        known_tags = {
            tag.lower()
            for tag in IdTag.objects.filter(tenant=tenant, id_tag__in=tags).values_list(
                "id_tag", flat=True
            )
        }
        IdTag.objects.bulk_create(
            (IdTag(tenant=tenant, id_tag=tag) for tag in tags if tag.lower() not in known_tags),
            batch_size=BATCH,
        )
    return Provisioned(
        tenant=tenant,
        charge_points_created=len(identities) - len(existing),
        id_tags_created=len(tags) - len(known_tags),
    )
