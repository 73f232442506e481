"""Tenant API: charge points and idTags (SPEC §3.3)."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.utils import timezone
from rest_framework.test import APIClient

from chargepoints.authorization.verdicts import id_tag_verdict
from chargepoints.models import ChargePoint, IdTag, RegistrationStatus
from chargepoints.passwords import password_matches
from csms.tenancy.models import Tenant
from tests.api_errors import error_fields, errored_fields
from tests.api_queries import list_queries
from tests.factories import ChargePointFactory, ConnectorFactory, IdTagFactory

pytestmark = pytest.mark.django_db

CHARGE_POINTS = "/api/v1/charge-points/"
ID_TAGS = "/api/v1/id-tags/"
PASSWORD = "correct-horse-battery"  # 21 characters


def cp_url(identity: str) -> str:
    return f"{CHARGE_POINTS}{identity}/"


def tag_url(id_tag: str) -> str:
    return f"{ID_TAGS}{id_tag}/"


def snapshot(tenant: Tenant) -> list[dict[str, Any]]:
    """Everything stored about a tenant's charge points, to prove a request changed nothing."""
    return list(ChargePoint.objects.filter(tenant=tenant).order_by("pk").values())


def tag_snapshot(tenant: Tenant) -> list[dict[str, Any]]:
    return list(IdTag.objects.filter(tenant=tenant).order_by("pk").values())


def patch_refused(
    api: APIClient, url: str, body: dict[str, Any], stored: Callable[[], object]
) -> Any:
    """PATCH ``url`` with ``body``: answered 400, and what ``stored()`` reads is unchanged."""
    before = stored()
    response = api.patch(url, body, format="json")
    assert response.status_code == 400
    assert stored() == before
    return response


# --- Charge points: create ---------------------------------------------------------------------


def test_created_charge_point_starts_accepted_and_is_returned(
    api: APIClient, tenant: Tenant
) -> None:
    response = api.post(CHARGE_POINTS, {"identity": "CP-1", "name": "Car park A"}, format="json")

    assert response.status_code == 201
    body = response.json()
    assert body["identity"] == "CP-1"
    assert body["name"] == "Car park A"
    assert body["registration_status"] == "Accepted"
    assert body["connected"] is False
    assert body["has_password"] is False
    assert body["connectors"] == []
    assert body["heartbeat_interval"] is None
    stored = ChargePoint.objects.get(tenant=tenant, identity="CP-1")
    assert stored.registration_status == RegistrationStatus.ACCEPTED


def test_password_is_stored_hashed_and_never_returned(api: APIClient, tenant: Tenant) -> None:
    response = api.post(CHARGE_POINTS, {"identity": "CP-1", "password": PASSWORD}, format="json")

    assert response.status_code == 201
    assert "password" not in response.json()
    assert PASSWORD not in response.content.decode()
    assert response.json()["has_password"] is True
    stored = ChargePoint.objects.get(tenant=tenant, identity="CP-1")
    assert stored.password_hash != PASSWORD
    assert password_matches(PASSWORD, stored.password_hash)

    detail = api.get(cp_url("CP-1"))
    assert "password" not in detail.json()
    assert "password_hash" not in detail.json()
    assert stored.password_hash not in detail.content.decode()


@pytest.mark.parametrize(
    "password",
    ["too-short", "x" * 41, "sixteen-chars-ünïcode", "tab\tin-the-password!"],
    ids=["15-chars", "41-chars", "non-ascii", "control-char"],
)
def test_invalid_password_is_400_and_creates_nothing(
    api: APIClient, tenant: Tenant, password: str
) -> None:
    response = api.post(CHARGE_POINTS, {"identity": "CP-1", "password": password}, format="json")

    assert response.status_code == 400
    assert "password" in errored_fields(response)
    assert not ChargePoint.objects.filter(tenant=tenant).exists()


def test_duplicate_identity_is_400_and_changes_nothing(api: APIClient, tenant: Tenant) -> None:
    ChargePointFactory(tenant=tenant, identity="CP-1", name="original")
    before = snapshot(tenant)

    response = api.post(CHARGE_POINTS, {"identity": "CP-1", "name": "copy"}, format="json")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert "already exists" in error_fields(response)["identity"][0]
    assert snapshot(tenant) == before


def test_same_identity_may_exist_in_another_tenant(
    api: APIClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    ChargePointFactory(tenant=other_tenant, identity="CP-1")

    response = api.post(CHARGE_POINTS, {"identity": "CP-1"}, format="json")

    assert response.status_code == 201
    assert ChargePoint.objects.filter(identity="CP-1").count() == 2


@pytest.mark.parametrize(
    "payload",
    [{}, {"identity": ""}, {"identity": "x" * 49}, {"identity": "a/b"}, {"identity": None}],
    ids=["missing", "empty", "49-chars", "slash", "null"],
)
def test_invalid_identity_is_400_and_creates_nothing(
    api: APIClient, tenant: Tenant, payload: dict[str, Any]
) -> None:
    response = api.post(CHARGE_POINTS, payload, format="json")

    assert response.status_code == 400
    assert "identity" in errored_fields(response)
    assert not ChargePoint.objects.exists()


def test_identity_of_48_chars_is_accepted(api: APIClient) -> None:
    response = api.post(CHARGE_POINTS, {"identity": "x" * 48}, format="json")

    assert response.status_code == 201


def test_malformed_json_is_400_json(api: APIClient) -> None:
    response = api.post(CHARGE_POINTS, "{not json", content_type="application/json")

    assert response.status_code == 400
    assert "detail" in response.json()
    assert not ChargePoint.objects.exists()


def test_requests_without_a_token_are_401(tenant: Tenant) -> None:
    ChargePointFactory(tenant=tenant, identity="CP-1")

    assert APIClient().get(CHARGE_POINTS).status_code == 401
    assert APIClient().get(cp_url("CP-1")).status_code == 401


# --- Charge points: read -----------------------------------------------------------------------


def test_identity_with_a_space_is_addressable_url_encoded(api: APIClient, tenant: Tenant) -> None:
    created = api.post(CHARGE_POINTS, {"identity": "Bay 7 #2"}, format="json")
    assert created.status_code == 201

    response = api.get(cp_url("Bay%207%20%232"))

    assert response.status_code == 200
    assert response.json()["identity"] == "Bay 7 #2"


def test_detail_lists_connectors_in_order(api: APIClient, tenant: Tenant) -> None:
    charge_point = ChargePointFactory(tenant=tenant, identity="CP-1")
    ConnectorFactory(charge_point=charge_point, connector_id=2, status="Charging")
    ConnectorFactory(
        charge_point=charge_point, connector_id=1, status="Faulted", error_code="GroundFailure"
    )

    body = api.get(cp_url("CP-1")).json()

    assert [c["connector_id"] for c in body["connectors"]] == [1, 2]
    first = body["connectors"][0]
    assert set(first) == {"connector_id", "status", "error_code", "info", "updated_at"}
    assert (first["status"], first["error_code"]) == ("Faulted", "GroundFailure")


def test_detail_shows_boot_and_presence_fields(api: APIClient, tenant: Tenant) -> None:
    seen = timezone.now()
    ChargePointFactory(
        tenant=tenant,
        identity="CP-1",
        vendor="ABB",
        model="Terra",
        serial_number="SN1",
        firmware_version="1.2.3",
        connected=True,
        last_seen=seen,
    )

    body = api.get(cp_url("CP-1")).json()

    assert body["vendor"] == "ABB"
    assert body["model"] == "Terra"
    assert body["serial_number"] == "SN1"
    assert body["firmware_version"] == "1.2.3"
    assert body["connected"] is True
    assert body["last_seen"] is not None


def test_list_is_paginated(api: APIClient, tenant: Tenant) -> None:
    ChargePointFactory.create_batch(51, tenant=tenant)

    first = api.get(CHARGE_POINTS).json()
    second = api.get(first["next"]).json()

    assert set(first) == {"count", "next", "previous", "results"}
    assert first["count"] == 51
    assert len(first["results"]) == 50
    assert first["previous"] is None
    assert len(second["results"]) == 1
    assert second["next"] is None
    assert second["previous"] is not None


def test_list_costs_the_same_queries_for_many_charge_points(api: APIClient, tenant: Tenant) -> None:
    def queries_for_list() -> int:
        return list_queries(api, CHARGE_POINTS)

    ConnectorFactory(charge_point=ChargePointFactory(tenant=tenant), connector_id=1)
    few = queries_for_list()
    for charge_point in ChargePointFactory.create_batch(10, tenant=tenant):
        ConnectorFactory(charge_point=charge_point, connector_id=1)
        ConnectorFactory(charge_point=charge_point, connector_id=2)

    assert queries_for_list() == few


def test_filter_by_connected(api: APIClient, tenant: Tenant) -> None:
    ChargePointFactory(tenant=tenant, identity="online", connected=True)
    ChargePointFactory(tenant=tenant, identity="offline", connected=False)

    online = api.get(CHARGE_POINTS, {"connected": "true"}).json()["results"]
    offline = api.get(CHARGE_POINTS, {"connected": "false"}).json()["results"]

    assert [cp["identity"] for cp in online] == ["online"]
    assert [cp["identity"] for cp in offline] == ["offline"]


def test_filter_by_registration_status(api: APIClient, tenant: Tenant) -> None:
    ChargePointFactory(tenant=tenant, identity="new", registration_status="Pending")
    ChargePointFactory(tenant=tenant, identity="ok")

    pending = api.get(CHARGE_POINTS, {"status": "Pending"}).json()["results"]

    assert [cp["identity"] for cp in pending] == ["new"]


@pytest.mark.parametrize("query", [{"connected": "maybe"}, {"status": "Sleeping"}])
def test_invalid_filter_value_is_400(api: APIClient, query: dict[str, str]) -> None:
    response = api.get(CHARGE_POINTS, query)

    assert response.status_code == 400
    assert errored_fields(response) == set(query)


# --- Charge points: update ---------------------------------------------------------------------


def test_patch_accepts_a_pending_charge_point(api: APIClient, tenant: Tenant) -> None:
    ChargePointFactory(tenant=tenant, identity="CP-1", registration_status="Pending")

    response = api.patch(cp_url("CP-1"), {"registration_status": "Accepted"}, format="json")

    assert response.status_code == 200
    assert response.json()["registration_status"] == "Accepted"
    assert ChargePoint.objects.get(identity="CP-1").registration_status == "Accepted"


def test_patch_with_invalid_status_is_400_and_changes_nothing(
    api: APIClient, tenant: Tenant
) -> None:
    ChargePointFactory(tenant=tenant, identity="CP-1", registration_status="Pending")
    before = snapshot(tenant)

    response = api.patch(
        cp_url("CP-1"), {"registration_status": "Maybe", "name": "renamed"}, format="json"
    )

    assert response.status_code == 400
    assert "registration_status" in errored_fields(response)
    assert snapshot(tenant) == before


def test_patch_name_and_heartbeat_interval(api: APIClient, tenant: Tenant) -> None:
    ChargePointFactory(tenant=tenant, identity="CP-1")

    set_response = api.patch(
        cp_url("CP-1"), {"name": "Depot", "heartbeat_interval": 120}, format="json"
    )
    cleared = api.patch(cp_url("CP-1"), {"heartbeat_interval": None}, format="json")

    assert set_response.json()["heartbeat_interval"] == 120
    assert set_response.json()["name"] == "Depot"
    assert cleared.json()["heartbeat_interval"] is None
    assert ChargePoint.objects.get(identity="CP-1").heartbeat_interval is None


@pytest.mark.parametrize("interval", [0, 9, -1, 2**31, "soon"])
def test_patch_with_invalid_heartbeat_interval_is_400(
    api: APIClient, tenant: Tenant, interval: Any
) -> None:
    ChargePointFactory(tenant=tenant, identity="CP-1", heartbeat_interval=60)

    response = api.patch(cp_url("CP-1"), {"heartbeat_interval": interval}, format="json")

    assert response.status_code == 400
    assert ChargePoint.objects.get(identity="CP-1").heartbeat_interval == 60


def test_patch_password_replaces_the_hash(api: APIClient, tenant: Tenant) -> None:
    api.post(CHARGE_POINTS, {"identity": "CP-1", "password": PASSWORD}, format="json")
    new_password = "another-password-123"

    response = api.patch(cp_url("CP-1"), {"password": new_password}, format="json")

    assert response.status_code == 200
    assert new_password not in response.content.decode()
    stored = ChargePoint.objects.get(identity="CP-1").password_hash
    assert password_matches(new_password, stored)
    assert not password_matches(PASSWORD, stored)


@pytest.mark.parametrize("cleared", ["", None])
def test_patch_empty_password_removes_it(api: APIClient, tenant: Tenant, cleared: Any) -> None:
    api.post(CHARGE_POINTS, {"identity": "CP-1", "password": PASSWORD}, format="json")

    response = api.patch(cp_url("CP-1"), {"password": cleared}, format="json")

    assert response.status_code == 200
    assert response.json()["has_password"] is False
    assert ChargePoint.objects.get(identity="CP-1").password_hash == ""


def test_patch_with_short_password_is_400_and_keeps_the_old_one(
    api: APIClient, tenant: Tenant
) -> None:
    api.post(CHARGE_POINTS, {"identity": "CP-1", "password": PASSWORD}, format="json")
    patch_refused(api, cp_url("CP-1"), {"password": "short", "name": "x"}, lambda: snapshot(tenant))


def test_patch_cannot_change_the_identity(api: APIClient, tenant: Tenant) -> None:
    ChargePointFactory(tenant=tenant, identity="CP-1")
    response = patch_refused(api, cp_url("CP-1"), {"identity": "CP-2"}, lambda: snapshot(tenant))

    assert "identity" in errored_fields(response)


def test_patch_ignores_fields_the_charge_point_reports(api: APIClient, tenant: Tenant) -> None:
    ChargePointFactory(tenant=tenant, identity="CP-1", vendor="ABB", connected=False)

    response = api.patch(cp_url("CP-1"), {"vendor": "Forged", "connected": True}, format="json")

    assert response.status_code == 200
    stored = ChargePoint.objects.get(identity="CP-1")
    assert (stored.vendor, stored.connected) == ("ABB", False)


def test_put_is_not_offered(api: APIClient, tenant: Tenant) -> None:
    ChargePointFactory(tenant=tenant, identity="CP-1")

    response = api.put(cp_url("CP-1"), {"identity": "CP-1"}, format="json")

    assert response.status_code == 405


# --- Charge points: delete ---------------------------------------------------------------------


def test_delete_removes_the_charge_point(api: APIClient, tenant: Tenant) -> None:
    charge_point = ChargePointFactory(tenant=tenant, identity="CP-1")
    ConnectorFactory(charge_point=charge_point, connector_id=1)

    response = api.delete(cp_url("CP-1"))

    assert response.status_code == 204
    assert not ChargePoint.objects.filter(identity="CP-1").exists()
    assert api.get(cp_url("CP-1")).status_code == 404


def test_deleting_a_connected_charge_point_closes_its_socket(
    api: APIClient, tenant: Tenant, django_capture_on_commit_callbacks: Any
) -> None:
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    ChargePointFactory(tenant=tenant, identity="CP-1", connected=True, channel_name=channel)

    with django_capture_on_commit_callbacks(execute=True):
        response = api.delete(cp_url("CP-1"))

    assert response.status_code == 204
    assert async_to_sync(layer.receive)(channel) == {"type": "ocpp.takeover"}


# --- Charge points: tenancy --------------------------------------------------------------------


def test_list_shows_only_the_callers_charge_points(
    api: APIClient, other_api: APIClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    ChargePointFactory(tenant=tenant, identity="mine")
    ChargePointFactory(tenant=other_tenant, identity="theirs")

    mine = api.get(CHARGE_POINTS).json()
    theirs = other_api.get(CHARGE_POINTS).json()

    assert [cp["identity"] for cp in mine["results"]] == ["mine"]
    assert mine["count"] == 1
    assert [cp["identity"] for cp in theirs["results"]] == ["theirs"]


@pytest.mark.parametrize(
    ("method", "payload"),
    [
        ("get", None),
        ("patch", {"registration_status": "Rejected", "name": "hijacked"}),
        ("delete", None),
    ],
)
def test_another_tenants_charge_point_is_404_and_untouched(
    api: APIClient,
    other_tenant: Tenant,
    method: str,
    payload: dict[str, Any] | None,
) -> None:
    ChargePointFactory(tenant=other_tenant, identity="theirs", name="kept")
    before = snapshot(other_tenant)

    response = getattr(api, method)(cp_url("theirs"), payload, format="json")

    assert response.status_code == 404
    assert response.json() == api.get(cp_url("no-such-identity")).json()
    assert snapshot(other_tenant) == before


# --- IdTags --------------------------------------------------------------------------------------


def test_create_id_tag_and_read_it_back(api: APIClient, tenant: Tenant) -> None:
    response = api.post(
        ID_TAGS,
        {
            "id_tag": "04A2B3C4D5",
            "status": "Accepted",
            "parent_id_tag": "FLEET-1",
            "in_local_list": True,
            "max_active_transactions": 2,
        },
        format="json",
    )

    assert response.status_code == 201
    body = api.get(tag_url("04A2B3C4D5")).json()
    assert body["id_tag"] == "04A2B3C4D5"
    assert body["status"] == "Accepted"
    assert body["parent_id_tag"] == "FLEET-1"
    assert body["in_local_list"] is True
    assert body["max_active_transactions"] == 2
    assert body["expiry_date"] is None
    tag = IdTag.objects.get(tenant=tenant, id_tag="04A2B3C4D5")
    assert tag.max_active_transactions == 2


def test_id_tag_defaults(api: APIClient) -> None:
    body = api.post(ID_TAGS, {"id_tag": "TAG1"}, format="json").json()

    assert body["status"] == "Accepted"
    assert body["in_local_list"] is False
    assert body["max_active_transactions"] == 1
    assert body["parent_id_tag"] == ""


def test_id_tag_with_a_past_expiry_date_is_created_and_reads_expired(
    api: APIClient, tenant: Tenant
) -> None:
    response = api.post(
        ID_TAGS,
        {"id_tag": "OLD", "status": "Accepted", "expiry_date": "2020-01-01T00:00:00Z"},
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["status"] == "Expired"
    assert api.get(tag_url("OLD")).json()["status"] == "Expired"
    # The stored status is unchanged; OCPP authorization reads it the same way.
    assert IdTag.objects.get(id_tag="OLD").status == "Accepted"
    assert id_tag_verdict(tenant_id=tenant.pk, id_tag="OLD").status == "Expired"


def test_blocked_id_tag_reads_blocked_even_when_expired(api: APIClient) -> None:
    response = api.post(
        ID_TAGS,
        {"id_tag": "BAD", "status": "Blocked", "expiry_date": "2020-01-01T00:00:00Z"},
        format="json",
    )

    assert response.json()["status"] == "Blocked"


def test_id_tag_with_future_expiry_reads_accepted(api: APIClient) -> None:
    future = (timezone.now() + timedelta(days=30)).isoformat()

    body = api.post(ID_TAGS, {"id_tag": "NEW", "expiry_date": future}, format="json").json()

    assert body["status"] == "Accepted"
    assert body["expiry_date"] is not None


@pytest.mark.parametrize(
    "payload",
    [
        {"id_tag": ""},
        {"id_tag": "x" * 21},
        {"id_tag": "TAG", "status": "Expired"},
        {"id_tag": "TAG", "status": "Invalid"},
        {"id_tag": "TAG", "expiry_date": "next tuesday"},
        {"id_tag": "TAG", "parent_id_tag": "p" * 21},
        {"id_tag": "TAG", "max_active_transactions": 0},
        {"id_tag": "TAG", "in_local_list": "perhaps"},
        {"status": "Accepted"},
    ],
    ids=[
        "empty",
        "21-chars",
        "status-expired",
        "status-invalid",
        "bad-date",
        "long-parent",
        "zero-max",
        "bad-bool",
        "missing-id-tag",
    ],
)
def test_invalid_id_tag_is_400_and_creates_nothing(api: APIClient, payload: dict[str, Any]) -> None:
    response = api.post(ID_TAGS, payload, format="json")

    assert response.status_code == 400
    assert response.json()
    assert not IdTag.objects.exists()


def test_id_tag_of_20_chars_is_accepted(api: APIClient) -> None:
    assert api.post(ID_TAGS, {"id_tag": "x" * 20}, format="json").status_code == 201


def test_duplicate_id_tag_is_400_and_changes_nothing(api: APIClient, tenant: Tenant) -> None:
    IdTagFactory(tenant=tenant, id_tag="TAG1", status="Blocked")
    before = tag_snapshot(tenant)

    response = api.post(ID_TAGS, {"id_tag": "TAG1", "status": "Accepted"}, format="json")

    assert response.status_code == 400
    assert "already exists" in error_fields(response)["id_tag"][0]
    assert tag_snapshot(tenant) == before


def test_same_id_tag_may_exist_in_another_tenant(api: APIClient, other_tenant: Tenant) -> None:
    IdTagFactory(tenant=other_tenant, id_tag="TAG1")

    assert api.post(ID_TAGS, {"id_tag": "TAG1"}, format="json").status_code == 201


def test_patch_id_tag(api: APIClient, tenant: Tenant) -> None:
    IdTagFactory(tenant=tenant, id_tag="TAG1")

    response = api.patch(
        tag_url("TAG1"),
        {"status": "Blocked", "in_local_list": True, "parent_id_tag": None},
        format="json",
    )

    assert response.status_code == 200
    tag = IdTag.objects.get(tenant=tenant, id_tag="TAG1")
    assert (tag.status, tag.in_local_list, tag.parent_id_tag) == ("Blocked", True, "")
    assert id_tag_verdict(tenant_id=tenant.pk, id_tag="TAG1").status == "Blocked"


def test_patch_can_clear_the_expiry_date(api: APIClient, tenant: Tenant) -> None:
    IdTagFactory(tenant=tenant, id_tag="TAG1", expiry_date=timezone.now() - timedelta(days=1))

    response = api.patch(tag_url("TAG1"), {"expiry_date": None}, format="json")

    assert response.json()["status"] == "Accepted"
    assert IdTag.objects.get(id_tag="TAG1").expiry_date is None


def test_patch_can_rename_an_id_tag(api: APIClient, tenant: Tenant) -> None:
    IdTagFactory(tenant=tenant, id_tag="TAG1")

    response = api.patch(tag_url("TAG1"), {"id_tag": "TAG2"}, format="json")

    assert response.status_code == 200
    assert list(IdTag.objects.values_list("id_tag", flat=True)) == ["TAG2"]


def test_patch_renaming_onto_an_existing_id_tag_is_400_and_changes_nothing(
    api: APIClient, tenant: Tenant
) -> None:
    IdTagFactory(tenant=tenant, id_tag="TAG1")
    IdTagFactory(tenant=tenant, id_tag="TAG2")
    body = {"id_tag": "TAG2", "status": "Blocked"}
    patch_refused(api, tag_url("TAG1"), body, lambda: tag_snapshot(tenant))


def test_patch_with_invalid_status_is_400_and_keeps_the_tag(api: APIClient, tenant: Tenant) -> None:
    IdTagFactory(tenant=tenant, id_tag="TAG1")
    response = patch_refused(
        api, tag_url("TAG1"), {"status": "Expired"}, lambda: tag_snapshot(tenant)
    )

    assert "status" in errored_fields(response)


def test_delete_id_tag(api: APIClient, tenant: Tenant) -> None:
    IdTagFactory(tenant=tenant, id_tag="TAG1")

    response = api.delete(tag_url("TAG1"))

    assert response.status_code == 204
    assert not IdTag.objects.exists()
    assert id_tag_verdict(tenant_id=tenant.pk, id_tag="TAG1").status == "Invalid"


def test_id_tag_list_shows_only_the_callers_tags(
    api: APIClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    IdTagFactory(tenant=tenant, id_tag="MINE")
    IdTagFactory(tenant=other_tenant, id_tag="THEIRS")

    body = api.get(ID_TAGS).json()

    assert set(body) == {"count", "next", "previous", "results"}
    assert [t["id_tag"] for t in body["results"]] == ["MINE"]
    assert body["count"] == 1


def test_id_tag_list_filters(api: APIClient, tenant: Tenant) -> None:
    IdTagFactory(tenant=tenant, id_tag="LOCAL", in_local_list=True)
    IdTagFactory(tenant=tenant, id_tag="BLOCKED", status="Blocked")

    local = api.get(ID_TAGS, {"in_local_list": "true"}).json()["results"]
    blocked = api.get(ID_TAGS, {"status": "Blocked"}).json()["results"]

    assert [t["id_tag"] for t in local] == ["LOCAL"]
    assert [t["id_tag"] for t in blocked] == ["BLOCKED"]


@pytest.mark.parametrize(
    ("method", "payload"),
    [("get", None), ("patch", {"status": "Blocked"}), ("delete", None)],
)
def test_another_tenants_id_tag_is_404_and_untouched(
    api: APIClient, other_tenant: Tenant, method: str, payload: dict[str, Any] | None
) -> None:
    IdTagFactory(tenant=other_tenant, id_tag="THEIRS")
    before = tag_snapshot(other_tenant)

    response = getattr(api, method)(tag_url("THEIRS"), payload, format="json")

    assert response.status_code == 404
    assert response.json() == api.get(tag_url("NO-SUCH-TAG")).json()
    assert tag_snapshot(other_tenant) == before


# --- OpenAPI -----------------------------------------------------------------------------------


def test_openapi_schema_is_served_and_documents_the_endpoints(client: Any) -> None:
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (
        "/api/v1/charge-points/",
        "/api/v1/charge-points/{identity}/",
        "/api/v1/id-tags/",
        "/api/v1/id-tags/{id_tag}/",
        "/api/v1/transactions/",
        "/api/v1/transactions/{id}/",
        "/api/v1/transactions/{id}/meter-values/",
    ):
        assert path in paths
    assert "password" not in response.json()["components"]["schemas"]["ChargePoint"]["properties"]
