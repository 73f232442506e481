"""Bulk creation of idTags and charge points (issue 20 §4): CSV import through the API and the
admin, JSON lists through the API; validated row by row, all or nothing, with a report."""

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from chargepoints.models import ChargePoint, IdTag
from chargepoints.passwords import password_matches
from csms.tenancy.models import Tenant
from tests.factories import ChargePointFactory, IdTagFactory

pytestmark = pytest.mark.django_db

ID_TAGS_CSV = "/api/v1/id-tags/import/"
CHARGE_POINTS_CSV = "/api/v1/charge-points/import/"
PASSWORD = "correct-horse-battery"


def post_csv(api: APIClient, url: str, text: str) -> Any:
    return api.generic("POST", url, text.encode(), content_type="text/csv")


def errors_by_attr(response: Any) -> dict[str, str]:
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["type"] == "validation_error"
    return {error["attr"]: error["detail"] for error in body["errors"]}


# --- idTags --------------------------------------------------------------------------------------


def test_a_csv_of_id_tags_is_imported_with_a_report(api: APIClient, tenant: Tenant) -> None:
    text = (
        "id_tag,status,expiry_date,parent_id_tag,in_local_list\n"
        "TAG-1,Accepted,,,true\n"
        "TAG-2,Blocked,2030-01-01T00:00:00Z,FLEET,\n"
        "TAG-3,,,,\n"
    )

    response = post_csv(api, ID_TAGS_CSV, text)

    assert response.status_code == 201, response.content
    assert response.json() == {"rows": 3, "created": 3, "items": ["TAG-1", "TAG-2", "TAG-3"]}
    tags = {tag.id_tag: tag for tag in IdTag.objects.filter(tenant=tenant)}
    assert tags["TAG-1"].in_local_list is True
    assert (tags["TAG-2"].status, tags["TAG-2"].parent_id_tag) == ("Blocked", "FLEET")
    assert tags["TAG-2"].expiry_date.year == 2030
    assert tags["TAG-3"].status == "Accepted"


def test_one_bad_row_refuses_the_whole_file_and_names_every_problem_by_line(
    api: APIClient, tenant: Tenant
) -> None:
    IdTagFactory(tenant=tenant, id_tag="KNOWN")
    text = (
        "id_tag,status,max_active_transactions\n"
        "TAG-1,Accepted,1\n"  # line 2: fine
        "TAG-2,Sideways,1\n"  # line 3: no such status
        "known,,\n"  # line 4: already there (idTags compare case-insensitively)
        "TAG-5,,0\n"  # line 5: below the minimum
        "tag-1,,\n"  # line 6: twice in the file
    )

    errors = errors_by_attr(post_csv(api, ID_TAGS_CSV, text))

    assert set(errors) == {
        "line.3.status",
        "line.4.id_tag",
        "line.5.max_active_transactions",
        "line.6.id_tag",
    }
    assert "also on line 2" in errors["line.6.id_tag"]
    assert list(IdTag.objects.values_list("id_tag", flat=True)) == ["KNOWN"]


def test_the_same_tag_in_another_tenant_is_no_duplicate(
    api: APIClient, other_tenant: Tenant
) -> None:
    IdTagFactory(tenant=other_tenant, id_tag="TAG-1")

    response = post_csv(api, ID_TAGS_CSV, "id_tag\nTAG-1\n")

    assert response.status_code == 201
    assert IdTag.objects.filter(id_tag="TAG-1").count() == 2


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "header row"),
        ("id_tag,colour\nTAG-1,red\n", "unknown column(s) colour"),
        ("status\nAccepted\n", "missing column(s) id_tag"),
        ("id_tag\n", "no rows"),
    ],
)
def test_a_file_that_is_not_an_id_tag_list_is_refused(
    api: APIClient, text: str, problem: str
) -> None:
    errors = errors_by_attr(post_csv(api, ID_TAGS_CSV, text))

    assert problem in errors["file"]
    assert not IdTag.objects.exists()


def test_a_row_with_more_cells_than_columns_is_refused(api: APIClient) -> None:
    errors = errors_by_attr(post_csv(api, ID_TAGS_CSV, "id_tag\nTAG-1\nTAG-2,extra\n"))

    assert set(errors) == {"line.3.row"}
    assert not IdTag.objects.exists()


def test_a_csv_file_may_be_uploaded_as_a_multipart_file(api: APIClient) -> None:
    upload = SimpleUploadedFile("tags.csv", b"\xef\xbb\xbfid_tag\nTAG-1\n", "text/csv")

    response = api.post(ID_TAGS_CSV, {"file": upload}, format="multipart")

    assert response.status_code == 201, response.content
    assert IdTag.objects.get().id_tag == "TAG-1"


def test_a_file_that_is_not_utf8_is_refused(api: APIClient) -> None:
    response = api.generic(
        "POST", ID_TAGS_CSV, "id_tag\nTAG-é\n".encode("latin-1"), content_type="text/csv"
    )

    assert "UTF-8" in errors_by_attr(response)["file"]


def test_a_json_list_creates_many_id_tags_at_once_or_none(api: APIClient) -> None:
    created = api.post(
        "/api/v1/id-tags/bulk/",
        [{"id_tag": "TAG-1"}, {"id_tag": "TAG-2", "status": "Blocked"}],
        format="json",
    )
    refused = api.post(
        "/api/v1/id-tags/bulk/", [{"id_tag": "TAG-3"}, {"status": "Blocked"}], format="json"
    )
    not_a_list = api.post("/api/v1/id-tags/bulk/", {"id_tag": "TAG-4"}, format="json")

    assert created.status_code == 201
    assert created.json()["created"] == 2
    assert errors_by_attr(refused) == {"line.1.id_tag": "This field is required."}
    assert "items" in errors_by_attr(not_a_list)
    assert sorted(IdTag.objects.values_list("id_tag", flat=True)) == ["TAG-1", "TAG-2"]


# --- Charge points -------------------------------------------------------------------------------


def test_a_csv_of_charge_points_is_imported(api: APIClient, tenant: Tenant) -> None:
    text = (
        f"identity,name,password,heartbeat_interval\nCP-1,Depot 1,{PASSWORD},\nCP-2,Depot 2,,120\n"
    )

    response = post_csv(api, CHARGE_POINTS_CSV, text)

    assert response.status_code == 201, response.content
    assert response.json()["items"] == ["CP-1", "CP-2"]
    first, second = ChargePoint.objects.filter(tenant=tenant).order_by("identity")
    assert first.registration_status == "Accepted"
    assert password_matches(PASSWORD, first.password_hash)
    assert (second.name, second.heartbeat_interval, second.password_hash) == ("Depot 2", 120, "")


def test_charge_point_rows_are_checked_like_the_api_checks_them(
    api: APIClient, tenant: Tenant
) -> None:
    ChargePointFactory(tenant=tenant, identity="CP-OLD")
    text = "identity,password\nCP/1,\nCP-OLD,\nCP-3,short\nCP-4,\n"

    errors = errors_by_attr(post_csv(api, CHARGE_POINTS_CSV, text))

    assert set(errors) == {"line.2.identity", "line.3.identity", "line.4.password"}
    assert list(ChargePoint.objects.values_list("identity", flat=True)) == ["CP-OLD"]


def test_bulk_rows_at_most_the_configured_number(api: APIClient, settings: Any) -> None:
    settings.API_BULK_MAX_ROWS = 2

    errors = errors_by_attr(post_csv(api, CHARGE_POINTS_CSV, "identity\nA\nB\nC\n"))

    assert "At most 2 rows" in errors["file"]
    assert not ChargePoint.objects.exists()


# --- The admin -----------------------------------------------------------------------------------


def test_the_admin_imports_a_csv_for_one_tenant(
    admin_client: Client, tenant: Tenant, other_tenant: Tenant
) -> None:
    url = reverse("admin:chargepoints_idtag_import_csv")
    changelist = admin_client.get(reverse("admin:chargepoints_idtag_changelist"))
    upload = SimpleUploadedFile("tags.csv", b"id_tag,status\nTAG-1,Blocked\nTAG-2,\n")

    response = admin_client.post(url, {"tenant": other_tenant.pk, "file": upload})

    assert url in changelist.content.decode()
    assert response.status_code == 302
    assert sorted(IdTag.objects.filter(tenant=other_tenant).values_list("id_tag", "status")) == [
        ("TAG-1", "Blocked"),
        ("TAG-2", "Accepted"),
    ]


def test_the_admin_shows_every_refused_row_and_imports_nothing(
    admin_client: Client, tenant: Tenant
) -> None:
    url = reverse("admin:chargepoints_chargepoint_import_csv")
    upload = SimpleUploadedFile("cps.csv", b"identity,password\nCP-1,\nCP/2,\nCP-3,short\n")

    page = admin_client.get(url)
    response = admin_client.post(url, {"tenant": tenant.pk, "file": upload})

    assert page.status_code == 200
    assert response.status_code == 200
    assert [(p["line"], p["field"]) for p in response.context["problems"]] == [
        ("3", "identity"),
        ("4", "password"),
    ]
    html = response.content.decode()
    assert "Nothing was imported." in html and "import-problems" in html
    assert not ChargePoint.objects.exists()
    assert (
        reverse("admin:chargepoints_chargepoint_import_csv")
        in admin_client.get(reverse("admin:chargepoints_chargepoint_changelist")).content.decode()
    )
