"""Staff admin of groups, idTag limits, local-list states and reservations."""

from collections.abc import Callable
from typing import Any

import pytest
from django.db.models import Model
from django.test import Client

from chargepoints.models import (
    ChargePoint,
    ChargePointGroup,
    Command,
    IdTag,
    LocalListState,
    LocalListSyncRequest,
    Reservation,
)
from csms.tenancy.models import Tenant
from tests.admin_pages import admin_url, pages_of
from tests.factories import (
    ChargePointFactory,
    ChargePointGroupFactory,
    IdTagFactory,
    ReservationFactory,
)

pytestmark = pytest.mark.django_db


def make_group(tenant: Tenant) -> Model:
    return ChargePointGroupFactory(tenant=tenant, members=[ChargePointFactory(tenant=tenant)])


def make_state(tenant: Tenant) -> Model:
    return LocalListState.objects.create(
        charge_point=ChargePointFactory(tenant=tenant),
        version=3,
        entries={"A": {"status": "Accepted"}},
    )


def make_reservation(tenant: Tenant) -> Model:
    return ReservationFactory(charge_point=ChargePointFactory(tenant=tenant))


@pytest.mark.parametrize("make", [make_group, make_state, make_reservation])
def test_changelist_and_change_page_render(
    admin_client: Client, tenant: Tenant, other_tenant: Tenant, make: Callable[[Tenant], Model]
) -> None:
    _, changelist, change = pages_of(admin_client, make, tenant, other_tenant)

    assert changelist.status_code == 200
    assert changelist.context["cl"].result_count == 2  # staff see every tenant
    assert change.status_code == 200


def id_tag_form(tenant: Tenant, **fields: Any) -> dict[str, Any]:
    """The change form of idTag TAG-1 (Accepted, one transaction at a time) with ``fields``."""
    return {
        "tenant": tenant.pk,
        "id_tag": "TAG-1",
        "status": "Accepted",
        "max_active_transactions": 1,
        **fields,
    }


def test_staff_limit_an_id_tag_to_a_group_and_it_becomes_restricted(
    admin_client: Client, tenant: Tenant
) -> None:
    tag = IdTagFactory(tenant=tenant, id_tag="TAG-1", in_local_list=True)
    group = ChargePointGroupFactory(tenant=tenant)

    response = admin_client.post(
        admin_url(IdTag, "change", tag.pk),
        id_tag_form(tenant, parent_id_tag="", in_local_list="on", allowed_groups=[group.pk]),
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    tag.refresh_from_db()
    assert tag.restricted is True
    assert list(tag.allowed_groups.all()) == [group]
    # A local-list tag changed: its tenant's lists are due for a sync.
    assert LocalListSyncRequest.objects.get(tenant=tenant).due_at is not None


def test_staff_cannot_limit_a_tag_to_another_tenants_charge_point(
    admin_client: Client, tenant: Tenant, other_tenant: Tenant
) -> None:
    tag = IdTagFactory(tenant=tenant, id_tag="TAG-1")
    theirs = ChargePointFactory(tenant=other_tenant)

    response = admin_client.post(
        admin_url(IdTag, "change", tag.pk), id_tag_form(tenant, allowed_charge_points=[theirs.pk])
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    tag.refresh_from_db()
    assert (tag.restricted, tag.allowed_charge_points.count()) == (False, 0)


def test_group_members_must_belong_to_the_groups_tenant(
    admin_client: Client, tenant: Tenant, other_tenant: Tenant
) -> None:
    response = admin_client.post(
        admin_url(ChargePointGroup, "add"),
        {
            "tenant": tenant.pk,
            "name": "Depot",
            "members": [ChargePointFactory(tenant=other_tenant).pk],
        },
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors


def test_sync_action_on_charge_points_starts_a_sync(admin_client: Client, tenant: Tenant) -> None:
    charge_point = ChargePointFactory(tenant=tenant)

    response = admin_client.post(
        admin_url(ChargePoint, "changelist"),
        {"action": "sync_local_list", "_selected_action": [charge_point.pk]},
    )

    assert response.status_code == 302
    command = Command.objects.get()
    assert (command.charge_point, command.action) == (charge_point, "GetLocalListVersion")
    assert command.requested_by_user_id is not None


def test_cancel_action_sends_cancel_reservation_for_active_ones_only(
    admin_client: Client, tenant: Tenant
) -> None:
    charge_point = ChargePointFactory(tenant=tenant)
    active = ReservationFactory(charge_point=charge_point)
    ended = ReservationFactory(charge_point=charge_point, status="used")

    response = admin_client.post(
        admin_url(Reservation, "changelist"),
        {"action": "cancel_reservations", "_selected_action": [active.pk, ended.pk]},
    )

    assert response.status_code == 302
    command = Command.objects.get()
    assert (command.action, command.payload) == (
        "CancelReservation",
        {"reservationId": active.reservation_id},
    )
