"""Services behind the API and the admin: idTags, registration, deletion."""

from typing import Any

import pytest

from chargepoints.authorization.id_tags import id_tag_create, id_tag_update
from chargepoints.models import ChargePoint, IdTag
from chargepoints.services.charge_points import charge_point_delete, charge_point_registration_set
from csms.errors import DomainError
from csms.tenancy.models import Tenant
from tests.factories import ChargePointFactory, IdTagFactory

pytestmark = pytest.mark.django_db


def test_id_tag_create_refuses_a_duplicate_without_breaking_the_transaction(
    tenant: Tenant,
) -> None:
    IdTagFactory(tenant=tenant, id_tag="TAG1")

    with pytest.raises(DomainError) as raised:
        id_tag_create(tenant=tenant, id_tag="TAG1")

    assert raised.value.code == "duplicate"
    # The savepoint rolled back only the failed insert: the connection is still usable.
    assert IdTag.objects.filter(tenant=tenant).count() == 1


def test_id_tag_update_refuses_renaming_onto_another_tag(tenant: Tenant) -> None:
    IdTagFactory(tenant=tenant, id_tag="TAG1")
    tag = IdTagFactory(tenant=tenant, id_tag="TAG2")

    with pytest.raises(DomainError):
        id_tag_update(tag=tag, id_tag="TAG1")

    assert sorted(IdTag.objects.values_list("id_tag", flat=True)) == ["TAG1", "TAG2"]


def test_registration_set_changes_only_the_given_charge_points(tenant: Tenant) -> None:
    chosen = ChargePointFactory(tenant=tenant, registration_status="Pending")
    other = ChargePointFactory(tenant=tenant, registration_status="Pending")

    count = charge_point_registration_set(
        charge_point_ids=[chosen.pk], registration_status="Accepted"
    )

    assert count == 1
    assert ChargePoint.objects.get(pk=chosen.pk).registration_status == "Accepted"
    assert ChargePoint.objects.get(pk=other.pk).registration_status == "Pending"


def test_registration_set_refuses_an_unknown_status(tenant: Tenant) -> None:
    charge_point = ChargePointFactory(tenant=tenant, registration_status="Pending")

    with pytest.raises(DomainError):
        charge_point_registration_set(charge_point_ids=[charge_point.pk], registration_status="Ok")

    assert ChargePoint.objects.get(pk=charge_point.pk).registration_status == "Pending"


def test_deleting_an_offline_charge_point_closes_nothing(
    tenant: Tenant, django_capture_on_commit_callbacks: Any
) -> None:
    charge_point = ChargePointFactory(tenant=tenant, connected=False, channel_name="stale")

    with django_capture_on_commit_callbacks() as callbacks:
        charge_point_delete(charge_point=charge_point)

    assert callbacks == []
    assert not ChargePoint.objects.exists()
