"""Staff admin: every page renders, passwords go through the service, registration actions."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib import admin
from django.db import connection
from django.db.models import Model
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from chargepoints.models import (
    CertificateSigningRequest,
    ChargePoint,
    CompatAbsorption,
    ConnectorStatusChange,
    DataTransferMessage,
    OcppMessage,
    SecurityEvent,
)
from chargepoints.passwords import hash_password, password_matches
from csms.tenancy.models import Tenant
from firmware.models import StatusReport
from tests.admin_pages import admin_url, pages_of
from tests.factories import (
    ChargePointFactory,
    ConnectorFactory,
    IdTagFactory,
    MeterValueFactory,
    TransactionFactory,
)
from transactions.models import UnmatchedTransactionMessage

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"


def message(charge_point: ChargePoint, n: int, *, direction: str = "in") -> OcppMessage:
    return OcppMessage.objects.create(
        charge_point=charge_point,
        direction=direction,
        message_type=2,
        message_id=f"msg-{n:03d}",
        action="Heartbeat",
        frame=f'[2,"msg-{n:03d}","Heartbeat",{{}}]',
        created_at=timezone.now() - timedelta(minutes=100 - n),
    )


def make_charge_point(tenant: Tenant) -> ChargePoint:
    return ChargePointFactory(tenant=tenant)


def make_connector(tenant: Tenant) -> Model:
    return ConnectorFactory(charge_point__tenant=tenant, connector_id=1)


def make_status_change(tenant: Tenant) -> Model:
    return ConnectorStatusChange.objects.create(
        charge_point=ChargePointFactory(tenant=tenant),
        connector_id=1,
        status="Available",
        error_code="NoError",
        timestamp=timezone.now(),
    )


def make_id_tag(tenant: Tenant) -> Model:
    return IdTagFactory(tenant=tenant)


def make_message(tenant: Tenant) -> Model:
    return message(ChargePointFactory(tenant=tenant), 1)


def make_absorption(tenant: Tenant) -> Model:
    return CompatAbsorption.objects.create(
        charge_point=ChargePointFactory(tenant=tenant), quirk="lowercase_enum", count=3
    )


def make_security_event(tenant: Tenant) -> Model:
    charge_point = ChargePointFactory(tenant=tenant)
    return SecurityEvent.objects.create(
        tenant=tenant,
        charge_point=charge_point,
        identity=charge_point.identity,
        type="FirmwareUpdated",
        timestamp=timezone.now(),
    )


def make_data_transfer(tenant: Tenant) -> Model:
    return DataTransferMessage.objects.create(
        charge_point=ChargePointFactory(tenant=tenant),
        vendor_id="com.acme",
        message_id="hello",
        data="{}",
        answer_status="UnknownVendorId",
    )


def make_csr(tenant: Tenant) -> Model:
    return CertificateSigningRequest.objects.create(
        charge_point=ChargePointFactory(tenant=tenant),
        csr="-----BEGIN CERTIFICATE REQUEST-----",
    )


def make_transaction(tenant: Tenant) -> Model:
    transaction = TransactionFactory(charge_point__tenant=tenant, stopped=True)
    MeterValueFactory(transaction=transaction)
    return transaction


def make_meter_value(tenant: Tenant) -> Model:
    return MeterValueFactory(transaction__charge_point__tenant=tenant)


def make_unmatched(tenant: Tenant) -> Model:
    return UnmatchedTransactionMessage.objects.create(
        charge_point=ChargePointFactory(tenant=tenant),
        action="StopTransaction",
        reported_transaction_id=424242,
        payload={"transactionId": 424242},
        reason="unknown transaction",
        content_hash="c" * 40,
    )


def make_status_report(tenant: Tenant) -> Model:
    return StatusReport.objects.create(
        charge_point=ChargePointFactory(tenant=tenant), kind="firmware", status="Installed"
    )


MAKERS: list[Callable[[Tenant], Model]] = [
    make_charge_point,
    make_connector,
    make_status_change,
    make_id_tag,
    make_message,
    make_absorption,
    make_security_event,
    make_data_transfer,
    make_csr,
    make_transaction,
    make_meter_value,
    make_unmatched,
    make_status_report,
]


def test_every_model_with_a_page_test_is_registered() -> None:
    registered = {model.__name__ for model in admin.site._registry}
    covered = {
        "ChargePoint", "Connector", "ConnectorStatusChange", "IdTag", "OcppMessage",
        "CompatAbsorption", "SecurityEvent", "DataTransferMessage", "CertificateSigningRequest",
        "Transaction", "MeterValue", "UnmatchedTransactionMessage", "StatusReport",
    }  # fmt: skip

    assert covered <= registered


@pytest.mark.parametrize("make", MAKERS, ids=lambda make: make.__name__.removeprefix("make_"))
def test_changelist_and_change_page_render(
    admin_client: Client, tenant: Tenant, other_tenant: Tenant, make: Callable[[Tenant], Model]
) -> None:
    model, changelist, change = pages_of(admin_client, make, tenant, other_tenant)

    assert changelist.status_code == 200
    # Staff see every tenant.
    assert changelist.context["cl"].result_count == model.objects.count() >= 2
    assert change.status_code == 200


@pytest.mark.parametrize("make", MAKERS[1:], ids=lambda make: make.__name__.removeprefix("make_"))
def test_changelist_can_be_filtered_by_tenant(
    admin_client: Client, tenant: Tenant, other_tenant: Tenant, make: Callable[[Tenant], Model]
) -> None:
    if make is make_id_tag or make is make_security_event or make is make_transaction:
        lookup = "tenant__id__exact"
    else:
        lookup = "charge_point__tenant__id__exact"
    obj = make(tenant)
    make(other_tenant)

    response = admin_client.get(admin_url(type(obj), "changelist"), {lookup: tenant.pk})

    assert response.status_code == 200
    assert [row.pk for row in response.context["cl"].result_list] == [obj.pk]


# --- Charge points -----------------------------------------------------------------------------


def test_staff_create_a_charge_point_accepted_with_a_hashed_password(
    admin_client: Client, tenant: Tenant
) -> None:
    response = admin_client.post(
        admin_url(ChargePoint, "add"),
        {
            "tenant": tenant.pk,
            "identity": "CP-NEW",
            "name": "",
            "registration_status": "Accepted",
            "heartbeat_interval": "",
            "compat_overrides": "{}",
            "password": PASSWORD,
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    stored = ChargePoint.objects.get(tenant=tenant, identity="CP-NEW")
    assert stored.registration_status == "Accepted"
    assert stored.password_hash != PASSWORD
    assert password_matches(PASSWORD, stored.password_hash)


def test_add_form_offers_accepted_by_default(admin_client: Client) -> None:
    response = admin_client.get(admin_url(ChargePoint, "add"))

    form = response.context["adminform"].form
    assert form["registration_status"].value() == "Accepted"


def add_form(tenant: Tenant, compat_overrides: str) -> dict[str, Any]:
    """The add form of a charge point CP-NEW with ``compat_overrides`` typed in."""
    return {
        "tenant": tenant.pk,
        "identity": "CP-NEW",
        "registration_status": "Accepted",
        "compat_overrides": compat_overrides,
    }


@pytest.mark.parametrize(
    ("submitted", "stored"),
    [("", {}), ('{"allow_missing_subprotocol": true}', {"allow_missing_subprotocol": True})],
)
def test_compat_overrides_box_may_be_left_empty(
    admin_client: Client, tenant: Tenant, submitted: str, stored: dict[str, Any]
) -> None:
    response = admin_client.post(admin_url(ChargePoint, "add"), add_form(tenant, submitted))

    assert response.status_code == 302
    assert ChargePoint.objects.get(identity="CP-NEW").compat_overrides == stored


@pytest.mark.parametrize(
    "submitted", ['{"allow_missing_subprotocl": true}', '{"lenient_enums": 1}', "[]"]
)
def test_compat_overrides_typos_are_refused(
    admin_client: Client, tenant: Tenant, submitted: str
) -> None:
    response = admin_client.post(admin_url(ChargePoint, "add"), add_form(tenant, submitted))

    assert response.status_code == 200
    assert "compat_overrides" in response.context["adminform"].form.errors
    assert not ChargePoint.objects.exists()


def change_payload(charge_point: ChargePoint, **overrides: Any) -> dict[str, Any]:
    """What the change form posts back, inline management forms included."""
    payload: dict[str, Any] = {
        "name": charge_point.name,
        "registration_status": charge_point.registration_status,
        "heartbeat_interval": charge_point.heartbeat_interval or "",
        "compat_overrides": "{}",
        "password": "",
    }
    for prefix in ("connectors", "commands", "messages"):
        payload.update(
            {
                f"{prefix}-TOTAL_FORMS": "0",
                f"{prefix}-INITIAL_FORMS": "0",
                f"{prefix}-MIN_NUM_FORMS": "0",
                f"{prefix}-MAX_NUM_FORMS": "0",
            }
        )
    payload.update(overrides)
    return payload


def test_change_page_never_shows_the_password_hash(admin_client: Client, tenant: Tenant) -> None:
    charge_point = ChargePointFactory(tenant=tenant, password_hash=hash_password(PASSWORD))

    response = admin_client.get(admin_url(ChargePoint, "change", charge_point.pk))

    content = response.content.decode()
    assert charge_point.password_hash not in content
    assert charge_point.password_hash.split("$")[-1] not in content
    assert 'name="password"' in content


def test_staff_set_a_new_password(admin_client: Client, tenant: Tenant) -> None:
    charge_point = ChargePointFactory(tenant=tenant, password_hash=hash_password(PASSWORD))
    new_password = "brand-new-password-42"

    response = admin_client.post(
        admin_url(ChargePoint, "change", charge_point.pk),
        change_payload(charge_point, password=new_password, name="renamed"),
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    charge_point.refresh_from_db()
    assert charge_point.name == "renamed"
    assert password_matches(new_password, charge_point.password_hash)
    assert not password_matches(PASSWORD, charge_point.password_hash)


def test_saving_without_a_password_keeps_the_current_one(
    admin_client: Client, tenant: Tenant
) -> None:
    charge_point = ChargePointFactory(tenant=tenant, password_hash=hash_password(PASSWORD))
    before = charge_point.password_hash

    response = admin_client.post(
        admin_url(ChargePoint, "change", charge_point.pk), change_payload(charge_point)
    )

    assert response.status_code == 302
    charge_point.refresh_from_db()
    assert charge_point.password_hash == before


def test_staff_remove_a_password(admin_client: Client, tenant: Tenant) -> None:
    charge_point = ChargePointFactory(tenant=tenant, password_hash=hash_password(PASSWORD))

    response = admin_client.post(
        admin_url(ChargePoint, "change", charge_point.pk),
        change_payload(charge_point, remove_password="on"),
    )

    assert response.status_code == 302
    charge_point.refresh_from_db()
    assert charge_point.password_hash == ""


def test_invalid_password_is_refused_and_changes_nothing(
    admin_client: Client, tenant: Tenant
) -> None:
    charge_point = ChargePointFactory(tenant=tenant, name="kept")
    before = ChargePoint.objects.filter(pk=charge_point.pk).values().get()

    response = admin_client.post(
        admin_url(ChargePoint, "change", charge_point.pk),
        change_payload(charge_point, password="short", name="changed"),
    )

    assert response.status_code == 200
    assert "password" in response.context["adminform"].form.errors
    assert ChargePoint.objects.filter(pk=charge_point.pk).values().get() == before


@pytest.mark.parametrize(
    ("action", "status"),
    [("accept_registration", "Accepted"), ("reject_registration", "Rejected")],
)
def test_registration_actions(
    admin_client: Client, tenant: Tenant, other_tenant: Tenant, action: str, status: str
) -> None:
    chosen = [
        ChargePointFactory(tenant=tenant, registration_status="Pending"),
        ChargePointFactory(tenant=other_tenant, registration_status="Pending"),
    ]
    untouched = ChargePointFactory(tenant=tenant, registration_status="Pending")

    response = admin_client.post(
        admin_url(ChargePoint, "changelist"),
        {"action": action, "_selected_action": [cp.pk for cp in chosen]},
    )

    assert response.status_code == 302
    for charge_point in chosen:
        charge_point.refresh_from_db()
        assert charge_point.registration_status == status
    untouched.refresh_from_db()
    assert untouched.registration_status == "Pending"


def test_change_page_shows_the_newest_messages_only_and_links_the_full_log(
    admin_client: Client, tenant: Tenant
) -> None:
    charge_point = ChargePointFactory(tenant=tenant)
    for n in range(25):
        message(charge_point, n)
    message(ChargePointFactory(tenant=tenant), 99)

    response = admin_client.get(admin_url(ChargePoint, "change", charge_point.pk))

    content = response.content.decode()
    assert "msg-024" in content  # newest
    assert "msg-005" in content  # 20th newest
    assert "msg-004" not in content  # older than the newest 20
    assert "msg-099" not in content  # another charge point's
    log_url = f"{admin_url(OcppMessage, 'changelist')}?charge_point__id__exact={charge_point.pk}"
    assert log_url in content
    full_log = admin_client.get(log_url)
    assert full_log.context["cl"].result_count == 25


def test_change_page_lists_connectors(admin_client: Client, tenant: Tenant) -> None:
    charge_point = ChargePointFactory(tenant=tenant)
    ConnectorFactory(charge_point=charge_point, connector_id=1, status="Faulted", info="RCD trip")

    response = admin_client.get(admin_url(ChargePoint, "change", charge_point.pk))

    assert "RCD trip" in response.content.decode()


def test_changelist_search_by_identity_and_serial(admin_client: Client, tenant: Tenant) -> None:
    wanted = ChargePointFactory(tenant=tenant, identity="DEPOT-7", serial_number="SN-777")
    ChargePointFactory(tenant=tenant, identity="OTHER")
    url = admin_url(ChargePoint, "changelist")

    by_identity = admin_client.get(url, {"q": "DEPOT"}).context["cl"].result_list
    by_serial = admin_client.get(url, {"q": "SN-777"}).context["cl"].result_list

    assert [cp.pk for cp in by_identity] == [wanted.pk]
    assert [cp.pk for cp in by_serial] == [wanted.pk]


# --- Message log -------------------------------------------------------------------------------


def test_message_log_filters_and_search(admin_client: Client, tenant: Tenant) -> None:
    charge_point = ChargePointFactory(tenant=tenant, identity="LOGGED")
    wanted = message(charge_point, 1)
    message(charge_point, 2, direction="out")
    message(ChargePointFactory(tenant=tenant, identity="QUIET"), 3)
    url = admin_url(OcppMessage, "changelist")

    outgoing = admin_client.get(url, {"direction__exact": "out"}).context["cl"].result_list
    by_identity = admin_client.get(url, {"q": "LOGGED"}).context["cl"].result_list
    by_message_id = admin_client.get(url, {"q": "msg-001"}).context["cl"].result_list

    assert [m.message_id for m in outgoing] == ["msg-002"]
    assert {m.message_id for m in by_identity} == {"msg-001", "msg-002"}
    assert [m.pk for m in by_message_id] == [wanted.pk]


def test_message_log_is_read_only(admin_client: Client, tenant: Tenant) -> None:
    logged = message(ChargePointFactory(tenant=tenant), 1)

    add = admin_client.get(admin_url(OcppMessage, "add"))
    change = admin_client.post(admin_url(OcppMessage, "change", logged.pk), {"frame": "forged"})
    delete = admin_client.post(admin_url(OcppMessage, "delete", logged.pk), {"post": "yes"})

    assert add.status_code == 403
    assert change.status_code == 403
    assert delete.status_code == 403
    logged.refresh_from_db()
    assert logged.frame == '[2,"msg-001","Heartbeat",{}]'


@pytest.mark.parametrize("model", [ChargePoint, OcppMessage])
def test_changelist_queries_do_not_grow_with_rows(
    admin_client: Client, tenant: Tenant, model: type[Model]
) -> None:
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get(admin_url(model, "changelist")).status_code == 200
        return len(captured)

    message(ChargePointFactory(tenant=tenant), 0)
    few = queries()
    for n in range(1, 11):
        message(ChargePointFactory(tenant=tenant), n)

    assert queries() == few
