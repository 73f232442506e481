"""§1 tenant-aware pickers with autocomplete for 10,000 charge points; §2 the message log."""

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from chargepoints.models import ChargePoint, ChargePointGroup, OcppMessage
from csms.tenancy.models import Tenant
from tests.factories import ChargePointFactory, ChargePointGroupFactory

pytestmark = pytest.mark.django_db


def _pick(client: Client, kind: str, **params: object) -> dict:
    return client.get(reverse("console:pick", args=[kind]), params).json()


def test_picker_offers_only_the_tenants_charge_points_a_page_at_a_time(
    tenant: Tenant, other_tenant: Tenant, admin_client: Client
) -> None:
    ChargePoint.objects.bulk_create(
        ChargePoint(tenant=tenant, identity=f"CP-{n:05d}") for n in range(10_000)
    )
    ChargePointFactory(tenant=other_tenant, identity="CP-THEIRS")
    first = _pick(admin_client, "charge_point", tenant=tenant.pk)
    assert len(first["results"]) == 20 and first["pagination"]["more"] is True
    assert first["results"][0]["text"] == "CP-00000"
    found = _pick(admin_client, "charge_point", tenant=tenant.pk, term="0999")
    assert [r["text"] for r in found["results"]][:2] == ["CP-00999", "CP-09990"]
    assert _pick(admin_client, "charge_point", tenant=tenant.pk, term="THEIRS")["results"] == []
    theirs = _pick(admin_client, "charge_point", tenant=other_tenant.pk, term="THEIRS")
    assert [r["text"] for r in theirs["results"]] == ["CP-THEIRS"]
    # No tenant chosen yet: nothing is offered.
    assert _pick(admin_client, "charge_point")["results"] == []


def test_picker_is_staff_only(client: Client, tenant: Tenant) -> None:
    response = client.get(reverse("console:pick", args=["charge_point"]), {"tenant": tenant.pk})
    assert response.status_code == 302


def test_group_form_renders_a_picker_not_every_charge_point(
    tenant: Tenant, other_tenant: Tenant, admin_client: Client
) -> None:
    mine = ChargePointFactory(tenant=tenant, identity="CP-MINE")
    ChargePointFactory(tenant=tenant, identity="CP-ALSO-MINE")
    ChargePointFactory(tenant=other_tenant, identity="CP-THEIRS")
    group = ChargePointGroupFactory(tenant=tenant, name="Depot", members=[mine])
    add = admin_client.get(reverse("admin:chargepoints_chargepointgroup_add")).content.decode()
    assert 'class="tenant-picker"' in add and "CP-THEIRS" not in add and "CP-MINE" not in add
    change = admin_client.get(
        reverse("admin:chargepoints_chargepointgroup_change", args=[group.pk])
    ).content.decode()
    assert f'data-tenant="{tenant.pk}"' in change
    assert "CP-MINE" in change and "CP-ALSO-MINE" not in change  # only the chosen one
    assert "console/tenant_picker.js" in change


def test_a_charge_point_of_another_tenant_cannot_be_picked(
    tenant: Tenant, other_tenant: Tenant, admin_client: Client
) -> None:
    theirs = ChargePointFactory(tenant=other_tenant, identity="CP-THEIRS")
    group = ChargePointGroupFactory(tenant=tenant, name="Depot")
    response = admin_client.post(
        reverse("admin:chargepoints_chargepointgroup_change", args=[group.pk]),
        {"tenant": tenant.pk, "name": "Depot", "members": [theirs.pk]},
    )
    assert response.status_code == 200  # the form again, with the error
    assert not ChargePointGroup.objects.get(pk=group.pk).members.exists()


def _log(cp: ChargePoint, kind: int, direction: str, frame: list, at: object) -> OcppMessage:
    return OcppMessage.objects.create(
        charge_point=cp,
        direction=direction,
        message_type=kind,
        message_id=frame[1],
        action=frame[2] if kind == 2 else "",
        frame=json.dumps(frame),
        created_at=at,
    )


def test_message_log_in_milliseconds_with_words_and_call_beside_answer(
    tenant: Tenant, admin_client: Client
) -> None:
    cp = ChargePointFactory(tenant=tenant)
    at = timezone.now().replace(microsecond=123456)
    call = _log(cp, 2, "in", [2, "m-1", "Heartbeat", {}], at)
    _log(
        cp,
        3,
        "out",
        [3, "m-1", {"currentTime": "2026-01-01T00:00:00Z"}],
        at + timedelta(milliseconds=42),
    )
    _log(cp, 4, "out", [4, "m-2", "NotImplemented", "nope", {}], at + timedelta(seconds=1))
    listing = admin_client.get(
        reverse("admin:chargepoints_ocppmessage_changelist")
    ).content.decode()
    assert at.strftime("%H:%M:%S.123") in listing
    assert ">CALL<" in listing and ">RESULT<" in listing and ">ERROR<" in listing
    errors = admin_client.get(
        reverse("admin:chargepoints_ocppmessage_changelist"), {"kind": "ERROR"}
    )
    assert b"m-2" in errors.content and b"m-1" not in errors.content
    window = admin_client.get(
        reverse("admin:chargepoints_ocppmessage_changelist"),
        {"created_at__gte": (at + timedelta(milliseconds=500)).isoformat()},
    )
    assert b"m-2" in window.content and b"m-1" not in window.content
    page = admin_client.get(
        reverse("admin:chargepoints_ocppmessage_change", args=[call.pk])
    ).content.decode()
    assert '<div class="exchange">' in page and "answered in 42 ms" in page
    assert "&quot;currentTime&quot;: &quot;2026-01-01T00:00:00Z&quot;" in page  # pretty-printed
    assert "[\n  2,\n  &quot;m-1&quot;," in page
