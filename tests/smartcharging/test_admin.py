"""Staff admin of charging profiles, installed profiles and sites."""

from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from chargepoints.models import ChargePoint, Command
from csms.tenancy.models import Tenant
from smartcharging.models import ChargingProfile, ChargingSite, ChargingSiteMembership
from tests.factories import ChargingProfileFactory, TransactionFactory
from tests.smartcharging.helpers import set_profile

pytestmark = pytest.mark.django_db


def profile_form(tenant: Tenant, **overrides: object) -> dict[str, object]:
    return {
        "tenant": tenant.pk,
        "charging_profile_id": 4,
        "name": "Night",
        "stack_level": 0,
        "charging_profile_purpose": "TxDefaultProfile",
        "charging_profile_kind": "Absolute",
        "recurrency_kind": "",
        "charging_rate_unit": "A",
        "periods": '[{"start_period": 0, "limit": 16.0}]',
        "installations-TOTAL_FORMS": 0,
        "installations-INITIAL_FORMS": 0,
        **overrides,
    }


def test_staff_add_a_profile_validated_like_the_api(admin_client: Client, tenant: Tenant) -> None:
    url = reverse("admin:smartcharging_chargingprofile_add")

    refused = admin_client.post(url, profile_form(tenant, charging_profile_kind="Recurring"))
    created = admin_client.post(url, profile_form(tenant))

    assert refused.status_code == 200
    assert "recurrency_kind" in str(refused.context["adminform"].form.non_field_errors())
    assert created.status_code == 302
    assert ChargingProfile.objects.get().name == "Night"


def test_installed_profiles_and_their_profile_page(
    admin_client: Client, cp: ChargePoint, answer: Callable[..., Command]
) -> None:
    profile = ChargingProfileFactory(tenant=cp.tenant, charging_profile_id=5)
    answer(set_profile(cp, profile_id=5), {"status": "Accepted"})

    listing = admin_client.get(reverse("admin:smartcharging_installedchargingprofile_changelist"))
    page = admin_client.get(
        reverse("admin:smartcharging_chargingprofile_change", args=[profile.pk])
    )

    assert listing.status_code == 200
    assert [row.charging_profile_id for row in listing.context["cl"].result_list] == [5]
    assert page.status_code == 200
    assert "CP-1" in page.content.decode()


def test_site_page_shows_allocations_and_rebalance_now_sends_them(
    admin_client: Client, cp: ChargePoint
) -> None:
    site = ChargingSite.objects.create(
        tenant=cp.tenant, name="Depot", limit_unit="A", limit=20, min_rate=6
    )
    ChargingSiteMembership.objects.create(site=site, charge_point=cp)
    tx = TransactionFactory(charge_point=cp, connector_id=1)

    response = admin_client.post(
        reverse("admin:smartcharging_chargingsite_changelist"),
        {"action": "rebalance_now", "_selected_action": [site.pk]},
        follow=True,
    )
    page = admin_client.get(reverse("admin:smartcharging_chargingsite_change", args=[site.pk]))

    # The session's share and the site's session default (a TxDefaultProfile on the member).
    assert "2 command(s) queued" in response.content.decode()
    assert f"CP-1/1 tx {tx.pk}: 20.0 / - A" in page.content.decode()


def test_a_member_of_another_tenant_is_refused_in_the_site_form(
    admin_client: Client, tenant: Tenant, other_cp: ChargePoint
) -> None:
    response = admin_client.post(
        reverse("admin:smartcharging_chargingsite_add"),
        {
            "tenant": tenant.pk,
            "name": "Depot",
            "limit_unit": "A",
            "limit": "32",
            "min_rate": "6",
            "phases": 3,
            "voltage": "230",
            "stack_level": 0,
            "memberships-TOTAL_FORMS": 1,
            "memberships-INITIAL_FORMS": 0,
            "memberships-0-charge_point": other_cp.pk,
        },
    )

    assert response.status_code == 200
    assert "another tenant" in response.content.decode()
    assert not ChargingSite.objects.exists()
