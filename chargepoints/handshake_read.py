"""The one statement a handshake reads (OCPP-J §3): the tenant, its charge point, whether
commands wait for it, and the security facts the handshake decides on (a Basic-auth lockout of
the identity or the source address, a pending AuthorizationKey rotation). A reconnect storm
runs thousands at once, so it is plain SQL over the models' table names, not ORM queries.
"""

import json
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from django.db import connection, connections
from django.utils import timezone

from chargepoints.models import (
    AuthorizationKeyRotation,
    BasicAuthFailures,
    ChargePoint,
    Command,
    CommandStatus,
    FailureScope,
    RotationStatus,
)
from chargepoints.security.brute_force import identity_key
from csms.tenancy.models import Tenant


@dataclass(frozen=True)
class HandshakeRead:
    """What a handshake needs of its tenant and charge point (id None: unknown identity)."""

    tenant_id: int
    tenant_compat_defaults: dict[str, Any]
    unknown_charge_point_policy: str
    tenant_heartbeat_interval: int
    charge_point_id: int | None
    compat_overrides: dict[str, Any] | None
    password_hash: str
    connected: bool
    channel_name: str
    registration_status: str
    heartbeat_interval: int | None
    commands_waiting: bool
    tenant_name: str
    tenant_minimum_profile: int
    security_profile: int
    security_profile_pending: int | None
    locked_out: bool
    rotation_pending: bool


def handshake_read(*, tenant_slug: str, identity: str, source: str) -> HandshakeRead | None:
    """The tenant, its charge point, whether commands wait for it and whether a Basic-auth
    lockout holds its identity or the source address: one plain statement. A reconnect storm
    runs thousands at once; building the ORM queries this replaces was a fifth of the storm's
    CPU. None for an unknown tenant."""
    params: list[str | datetime] = [
        CommandStatus.QUEUED,
        FailureScope.IDENTITY,
        identity_key(tenant_slug, identity),
        FailureScope.SOURCE,
        source,
        timezone.now(),
        RotationStatus.PENDING,
        identity,
        tenant_slug,
    ]
    with connection.cursor() as cursor:
        cursor.execute(_handshake_sql(connection.alias), params)
        row = cursor.fetchone()
    if row is None:
        return None
    known = row[4] is not None
    return HandshakeRead(
        tenant_id=row[0],
        tenant_compat_defaults=_json(row[1]) or {},
        unknown_charge_point_policy=row[2],
        tenant_heartbeat_interval=row[3],
        charge_point_id=row[4],
        compat_overrides=_json(row[5]) if known else None,
        password_hash=row[6] or "",
        connected=bool(row[7]),
        channel_name=row[8] or "",
        registration_status=row[9] or "",
        heartbeat_interval=row[10],
        commands_waiting=bool(row[11]),
        locked_out=bool(row[12]),
        tenant_name=row[13],
        tenant_minimum_profile=row[14] or 0,
        security_profile=row[15] or 0,
        security_profile_pending=row[16],
        rotation_pending=bool(row[17]),
    )


def _json(value: Any) -> Any:
    """A JSON column as the cursor gives it: text (both backends, as Django configures them)."""
    return json.loads(value) if isinstance(value, str | bytes) else value


@lru_cache(maxsize=4)
def _handshake_sql(alias: str) -> str:
    quote = connections[alias].ops.quote_name
    tenant, charge_point, command, failures, rotation = (
        quote(model._meta.db_table)
        for model in (Tenant, ChargePoint, Command, BasicAuthFailures, AuthorizationKeyRotation)
    )
    # Only quoted table names from the models' metadata and placeholders: values are bound.
    return (
        "SELECT t.id, t.compat_defaults, t.unknown_charge_point_policy, t.heartbeat_interval, "  # noqa: S608
        "cp.id, cp.compat_overrides, cp.password_hash, cp.connected, cp.channel_name, "
        "cp.registration_status, cp.heartbeat_interval, "
        f"EXISTS (SELECT 1 FROM {command} c WHERE c.charge_point_id = cp.id AND c.status = %s), "
        # Both lookups use the (scope, key) unique index.
        f"EXISTS (SELECT 1 FROM {failures} f WHERE ((f.scope = %s AND f.key = %s) "
        "OR (f.scope = %s AND f.key = %s)) AND f.locked_until > %s), "
        "t.name, t.minimum_security_profile, cp.security_profile, cp.security_profile_pending, "
        f"EXISTS (SELECT 1 FROM {rotation} r WHERE r.charge_point_id = cp.id AND r.status = %s) "
        f"FROM {tenant} t LEFT JOIN {charge_point} cp "
        "ON cp.tenant_id = t.id AND cp.identity = %s WHERE t.slug = %s"
    )
