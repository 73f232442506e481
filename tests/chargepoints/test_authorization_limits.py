""" "May charge here": idTags limited to charge points and groups, for Authorize and
StartTransaction alike; the API of the limits and of charge point groups."""

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from chargepoints.authorization.groups import charge_point_group_delete
from chargepoints.authorization.id_tags import id_tag_create
from chargepoints.authorization.verdicts import id_tag_verdict
from chargepoints.handlers import authorize
from chargepoints.models import ChargePoint, ChargePointGroup, IdTag
from chargepoints.services.charge_points import charge_point_delete
from csms.tenancy.models import Tenant
from tests.api_errors import errored_fields
from tests.api_queries import list_queries
from tests.charge_point_calls import call_context
from tests.factories import ChargePointFactory, ChargePointGroupFactory
from transactions.handlers import start_transaction
from transactions.models import Transaction

pytestmark = pytest.mark.django_db

ID_TAGS = "/api/v1/id-tags/"
GROUPS = "/api/v1/charge-point-groups/"


@pytest.fixture
def here(tenant: Tenant) -> ChargePoint:
    return ChargePointFactory(tenant=tenant, identity="HERE")


@pytest.fixture
def there(tenant: Tenant) -> ChargePoint:
    return ChargePointFactory(tenant=tenant, identity="THERE")


def authorize_at(charge_point: ChargePoint, id_tag: str) -> dict[str, Any]:
    return authorize(call_context(charge_point, "Authorize"), {"id_tag": id_tag})["id_tag_info"]


def start_at(charge_point: ChargePoint, id_tag: str) -> dict[str, Any]:
    return start_transaction(
        call_context(charge_point, "StartTransaction"),
        {
            "connector_id": 1,
            "id_tag": id_tag,
            "meter_start": 0,
            "timestamp": "2025-03-01T10:00:00+00:00",
        },
    )


# --- The rule, at both entry points -------------------------------------------------------------


def test_tag_limited_to_a_charge_point_is_accepted_only_there(
    tenant: Tenant, here: ChargePoint, there: ChargePoint
) -> None:
    id_tag_create(
        tenant=tenant, id_tag="TAG-1", parent_id_tag="FLEET", allowed_charge_points=[here]
    )

    assert authorize_at(here, "TAG-1") == {"status": "Accepted", "parent_id_tag": "FLEET"}
    assert authorize_at(there, "tag-1") == {"status": "Invalid"}


def test_start_transaction_applies_the_same_limit_and_still_returns_a_transaction_id(
    tenant: Tenant, here: ChargePoint, there: ChargePoint
) -> None:
    id_tag_create(tenant=tenant, id_tag="TAG-1", allowed_charge_points=[here])

    accepted = start_at(here, "TAG-1")
    refused = start_at(there, "TAG-1")

    assert refused["id_tag_info"] == {"status": "Invalid"}
    assert accepted["id_tag_info"] == {"status": "Accepted"}
    assert Transaction.objects.get(pk=refused["transaction_id"]).id_tag_status == "Invalid"
    assert Transaction.objects.get(pk=accepted["transaction_id"]).id_tag_status == "Accepted"


def test_tag_limited_to_a_group_is_accepted_at_its_members(
    tenant: Tenant, here: ChargePoint, there: ChargePoint
) -> None:
    depot = ChargePointGroupFactory(tenant=tenant, members=[here])
    id_tag_create(tenant=tenant, id_tag="TAG-1", allowed_groups=[depot])

    assert authorize_at(here, "TAG-1")["status"] == "Accepted"
    assert authorize_at(there, "TAG-1")["status"] == "Invalid"
    assert start_at(there, "TAG-1")["id_tag_info"]["status"] == "Invalid"

    depot.members.add(there)
    assert authorize_at(there, "TAG-1")["status"] == "Accepted"


def test_unlimited_tag_is_accepted_everywhere_and_blocked_stays_blocked(
    tenant: Tenant, here: ChargePoint, there: ChargePoint
) -> None:
    id_tag_create(tenant=tenant, id_tag="FREE")
    id_tag_create(tenant=tenant, id_tag="BLOCKED", status="Blocked")

    assert [authorize_at(cp, "FREE")["status"] for cp in (here, there)] == [
        "Accepted",
        "Accepted",
    ]
    assert authorize_at(here, "BLOCKED")["status"] == "Blocked"


def test_limit_with_blocked_status_reads_invalid_where_the_tag_may_not_charge(
    tenant: Tenant, here: ChargePoint, there: ChargePoint
) -> None:
    id_tag_create(tenant=tenant, id_tag="TAG-1", status="Blocked", allowed_charge_points=[here])

    assert authorize_at(here, "TAG-1")["status"] == "Blocked"
    assert authorize_at(there, "TAG-1")["status"] == "Invalid"


def test_deleting_the_last_allowed_place_leaves_the_tag_allowed_nowhere(
    tenant: Tenant, here: ChargePoint, there: ChargePoint
) -> None:
    depot = ChargePointGroupFactory(tenant=tenant, members=[here])
    id_tag_create(tenant=tenant, id_tag="BY-GROUP", allowed_groups=[depot])
    id_tag_create(tenant=tenant, id_tag="BY-CP", allowed_charge_points=[there])

    charge_point_group_delete(group=depot)
    charge_point_delete(charge_point=there)

    assert authorize_at(here, "BY-GROUP")["status"] == "Invalid"
    assert authorize_at(here, "BY-CP")["status"] == "Invalid"
    assert IdTag.objects.get(id_tag="BY-GROUP").restricted is True


def test_verdict_without_a_charge_point_ignores_the_limit(
    tenant: Tenant, here: ChargePoint
) -> None:
    id_tag_create(tenant=tenant, id_tag="TAG-1", allowed_charge_points=[here])

    assert id_tag_verdict(tenant_id=tenant.pk, id_tag="TAG-1").status == "Accepted"


def test_verdict_is_one_query_and_a_second_only_for_a_restricted_tag(
    tenant: Tenant, here: ChargePoint
) -> None:
    id_tag_create(tenant=tenant, id_tag="TAG-1")
    id_tag_create(tenant=tenant, id_tag="TAG-2", allowed_charge_points=[here])

    with CaptureQueriesContext(connection) as unrestricted:
        id_tag_verdict(tenant_id=tenant.pk, id_tag="TAG-1", charge_point_id=here.pk)
    with CaptureQueriesContext(connection) as restricted:
        id_tag_verdict(tenant_id=tenant.pk, id_tag="TAG-2", charge_point_id=here.pk)

    # Every session asks three times (Authorize, Start, Stop): the common case stays one
    # plain lookup; the allowed-here subqueries only run for a restricted idTag.
    assert (len(unrestricted), len(restricted)) == (1, 2)


# --- idTag API ----------------------------------------------------------------------------------


def test_id_tag_limits_are_written_and_read_through_the_api(
    api: APIClient, tenant: Tenant, here: ChargePoint, there: ChargePoint
) -> None:
    depot = ChargePointGroupFactory(tenant=tenant, members=[there])

    created = api.post(
        ID_TAGS,
        {"id_tag": "TAG-1", "allowed_charge_points": ["HERE"], "allowed_groups": [depot.pk]},
        format="json",
    )

    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["restricted"], body["allowed_charge_points"], body["allowed_groups"]) == (
        True,
        ["HERE"],
        [depot.pk],
    )
    assert authorize_at(here, "TAG-1")["status"] == "Accepted"
    assert authorize_at(there, "TAG-1")["status"] == "Accepted"
    assert authorize_at(ChargePointFactory(tenant=tenant), "TAG-1")["status"] == "Invalid"

    lifted = api.patch(
        f"{ID_TAGS}TAG-1/", {"allowed_charge_points": [], "allowed_groups": []}, format="json"
    )
    assert lifted.status_code == 200
    assert lifted.json()["restricted"] is False
    assert authorize_at(ChargePointFactory(tenant=tenant), "TAG-1")["status"] == "Accepted"


def test_patch_of_other_fields_keeps_the_limits(
    api: APIClient, tenant: Tenant, here: ChargePoint
) -> None:
    id_tag_create(tenant=tenant, id_tag="TAG-1", allowed_charge_points=[here])

    body = api.patch(f"{ID_TAGS}TAG-1/", {"status": "Blocked"}, format="json").json()

    assert (body["status"], body["restricted"], body["allowed_charge_points"]) == (
        "Blocked",
        True,
        ["HERE"],
    )


@pytest.mark.parametrize("field", ["allowed_charge_points", "allowed_groups"])
def test_another_tenants_charge_point_or_group_cannot_be_named(
    api: APIClient, other_tenant: Tenant, field: str
) -> None:
    theirs = ChargePointFactory(tenant=other_tenant, identity="THEIRS")
    group = ChargePointGroupFactory(tenant=other_tenant)
    value = ["THEIRS"] if field == "allowed_charge_points" else [group.pk]

    response = api.post(ID_TAGS, {"id_tag": "TAG-1", field: value}, format="json")

    assert response.status_code == 400
    assert field in errored_fields(response)
    assert not IdTag.objects.exists()
    assert theirs.allowed_id_tags.count() == 0


def test_id_tag_list_queries_do_not_grow_with_limits(api: APIClient, tenant: Tenant) -> None:
    def queries() -> int:
        return list_queries(api, ID_TAGS)

    id_tag_create(
        tenant=tenant, id_tag="T0", allowed_charge_points=[ChargePointFactory(tenant=tenant)]
    )
    few = queries()
    group = ChargePointGroupFactory(tenant=tenant)
    for n in range(1, 8):
        id_tag_create(
            tenant=tenant,
            id_tag=f"T{n}",
            allowed_charge_points=[ChargePointFactory(tenant=tenant)],
            allowed_groups=[group],
        )

    assert queries() == few


# --- Charge point groups API --------------------------------------------------------------------


def test_group_is_created_listed_changed_and_deleted(
    api: APIClient, here: ChargePoint, there: ChargePoint
) -> None:
    created = api.post(GROUPS, {"name": "Depot", "charge_points": ["HERE"]}, format="json")
    assert created.status_code == 201, created.json()
    group_id = created.json()["id"]
    assert created.json()["charge_points"] == ["HERE"]

    listed = api.get(GROUPS).json()
    assert [g["name"] for g in listed["results"]] == ["Depot"]

    changed = api.patch(
        f"{GROUPS}{group_id}/",
        {"name": "Depot North", "charge_points": ["HERE", "THERE"]},
        format="json",
    )
    assert changed.status_code == 200
    assert sorted(changed.json()["charge_points"]) == ["HERE", "THERE"]
    assert sorted(
        ChargePointGroup.objects.get(pk=group_id).members.values_list("identity", flat=True)
    ) == ["HERE", "THERE"]

    assert api.delete(f"{GROUPS}{group_id}/").status_code == 204
    assert not ChargePointGroup.objects.exists()


def test_duplicate_group_name_is_400(api: APIClient, tenant: Tenant) -> None:
    ChargePointGroupFactory(tenant=tenant, name="Depot")

    response = api.post(GROUPS, {"name": "Depot"}, format="json")

    assert response.status_code == 400
    assert ChargePointGroup.objects.count() == 1


def test_group_cannot_hold_another_tenants_charge_point(
    api: APIClient, other_tenant: Tenant
) -> None:
    ChargePointFactory(tenant=other_tenant, identity="THEIRS")

    response = api.post(GROUPS, {"name": "Depot", "charge_points": ["THEIRS"]}, format="json")

    assert response.status_code == 400
    assert not ChargePointGroup.objects.exists()


@pytest.mark.parametrize(
    ("method", "payload"), [("get", None), ("patch", {"name": "Mine now"}), ("delete", None)]
)
def test_another_tenants_group_is_404_and_untouched(
    api: APIClient, other_tenant: Tenant, method: str, payload: dict[str, Any] | None
) -> None:
    theirs = ChargePointGroupFactory(tenant=other_tenant, name="Theirs")

    response = getattr(api, method)(f"{GROUPS}{theirs.pk}/", payload, format="json")

    assert response.status_code == 404
    assert ChargePointGroup.objects.get(pk=theirs.pk).name == "Theirs"
    assert api.get(GROUPS).json()["count"] == 0
