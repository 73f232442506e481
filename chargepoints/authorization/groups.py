"""Charge point groups: named sets of a tenant's charge points, e.g. where an idTag may charge."""

from collections.abc import Iterable

from django.db import IntegrityError, transaction

from chargepoints.authorization.local_list_triggers import local_list_sync_request
from chargepoints.models import ChargePoint, ChargePointGroup
from csms.errors import DomainError
from csms.tenancy.models import Tenant

GROUP_DUPLICATE = "A charge point group with this name already exists."


def _checked_members(*, tenant_id: int, charge_points: Iterable[ChargePoint]) -> list[ChargePoint]:
    members = list(charge_points)
    if any(cp.tenant_id != tenant_id for cp in members):
        raise DomainError("Unknown charge point.", code="invalid_charge_point")
    return members


def _limits_local_list_tags(group: ChargePointGroup) -> bool:
    """Whether the group decides where some local-list idTag may charge."""
    return group.allowed_id_tags.filter(in_local_list=True, restricted=True).exists()


def charge_point_group_create(
    *, tenant: Tenant, name: str, charge_points: Iterable[ChargePoint] = ()
) -> ChargePointGroup:
    members = _checked_members(tenant_id=tenant.pk, charge_points=charge_points)
    try:
        with transaction.atomic():
            group = ChargePointGroup.objects.create(tenant=tenant, name=name)
    except IntegrityError as exc:  # lost a race with another create of the same name
        raise DomainError(GROUP_DUPLICATE, code="duplicate") from exc
    group.members.set(members)
    return group


def charge_point_group_update(
    *,
    group: ChargePointGroup,
    name: str | None = None,
    charge_points: Iterable[ChargePoint] | None = None,
) -> ChargePointGroup:
    if name is not None and name != group.name:
        group.name = name
        try:
            with transaction.atomic():
                group.save(update_fields=["name", "updated_at"])
        except IntegrityError as exc:
            raise DomainError(GROUP_DUPLICATE, code="duplicate") from exc
    if charge_points is not None:
        group.members.set(_checked_members(tenant_id=group.tenant_id, charge_points=charge_points))
        if _limits_local_list_tags(group):
            local_list_sync_request(tenant_id=group.tenant_id)
    return group


def charge_point_group_delete(*, group: ChargePointGroup) -> None:
    """Tags limited to this group keep their restriction: without it they charge nowhere, not
    everywhere."""
    resync, tenant_id = _limits_local_list_tags(group), group.tenant_id
    group.delete()
    if resync:
        local_list_sync_request(tenant_id=tenant_id)
