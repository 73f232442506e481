"""Writes on idTags: create, change, delete, and where a tag may charge; a change of a tag in
the local lists asks for a sync. And what a charge point is told when it asks (Authorize)."""

from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from chargepoints.authorization.local_list_triggers import local_list_sync_request
from chargepoints.authorization.revocations import (
    id_tag_accepted_now,
    id_tag_changed,
    id_tag_withdraw,
)
from chargepoints.authorization.verdicts import IdTagVerdict, id_tag_verdict
from chargepoints.models import ChargePoint, ChargePointGroup, IdTag
from csms.errors import DomainError
from csms.events import AuthorizationDenied, publish
from csms.tenancy.models import Tenant

ID_TAG_DUPLICATE = "An idTag with this value already exists."


def id_tag_create(
    *,
    tenant: Tenant,
    id_tag: str,
    allowed_charge_points: Iterable[ChargePoint] | None = None,
    allowed_groups: Iterable[ChargePointGroup] | None = None,
    **fields: Any,
) -> IdTag:
    try:
        with transaction.atomic():
            tag = IdTag.objects.create(tenant=tenant, id_tag=id_tag, **fields)
            id_tag_limits_set(tag=tag, charge_points=allowed_charge_points, groups=allowed_groups)
    except IntegrityError as exc:  # lost a race with another create of the same value
        raise DomainError(ID_TAG_DUPLICATE, code="duplicate") from exc
    if tag.in_local_list:
        local_list_sync_request(tenant_id=tag.tenant_id)
    return tag


def id_tag_update(
    *,
    tag: IdTag,
    allowed_charge_points: Iterable[ChargePoint] | None = None,
    allowed_groups: Iterable[ChargePointGroup] | None = None,
    **changes: Any,
) -> IdTag:
    was_local, was_accepted = tag.in_local_list, id_tag_accepted_now(tag)
    for field, value in changes.items():
        setattr(tag, field, value)
    try:
        with transaction.atomic():
            if changes:
                tag.save(update_fields=[*changes, "updated_at"])
            limited = id_tag_limits_set(
                tag=tag, charge_points=allowed_charge_points, groups=allowed_groups
            )
            id_tag_changed(tag=tag, was_accepted=was_accepted)
    except IntegrityError as exc:
        raise DomainError(ID_TAG_DUPLICATE, code="duplicate") from exc
    if (changes or limited) and (was_local or tag.in_local_list):
        local_list_sync_request(tenant_id=tag.tenant_id)
    return tag


def id_tag_limits_set(
    *,
    tag: IdTag,
    charge_points: Iterable[ChargePoint] | None = None,
    groups: Iterable[ChargePointGroup] | None = None,
) -> bool:
    """Set where the tag may charge (None: unchanged); restricted when any limit remains.
    Returns whether anything was given."""
    if charge_points is None and groups is None:
        return False
    if charge_points is not None:
        charge_points = list(charge_points)
        if any(cp.tenant_id != tag.tenant_id for cp in charge_points):
            raise DomainError("Unknown charge point.", code="invalid_charge_point")
        tag.allowed_charge_points.set(charge_points)
    if groups is not None:
        groups = list(groups)
        if any(group.tenant_id != tag.tenant_id for group in groups):
            raise DomainError("Unknown charge point group.", code="invalid_group")
        tag.allowed_groups.set(groups)
    restricted = tag.allowed_charge_points.exists() or tag.allowed_groups.exists()
    if restricted != tag.restricted:
        tag.restricted = restricted
        IdTag.objects.filter(pk=tag.pk).update(restricted=restricted, updated_at=timezone.now())
    return True


def id_tag_delete(*, tag: IdTag) -> None:
    """Delete a tag; the charge points that may have it cached or listed are told (a deleted
    tag is Invalid from now on)."""
    was_local, tenant_id = tag.in_local_list, tag.tenant_id
    with transaction.atomic():
        was_accepted = id_tag_accepted_now(tag)
        tag.delete()
        if was_accepted:
            id_tag_withdraw(tenant_id=tenant_id, id_tag=tag.id_tag)
    if was_local:
        local_list_sync_request(tenant_id=tenant_id)


def id_tag_authorize(
    *, tenant_id: int, charge_point_id: int, identity: str, id_tag: str
) -> IdTagVerdict:
    """Authorize.req (OCPP 1.6 §4.1): the idTag's verdict at this charge point; a refusal is
    published."""
    verdict = id_tag_verdict(tenant_id=tenant_id, id_tag=id_tag, charge_point_id=charge_point_id)
    if not verdict.accepted:
        publish(
            AuthorizationDenied(
                tenant_id=tenant_id,
                charge_point_id=charge_point_id,
                identity=identity,
                id_tag=id_tag,
                status=verdict.status,
                action="Authorize",
            )
        )
    return verdict
