from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from csms.tenancy.models import ApiToken, Tenant
from csms.tenancy.services import api_token_issue, api_token_revoke, hash_token_secret

pytestmark = pytest.mark.django_db

URL = "/api/v1/tenant/"


def test_valid_token_authenticates_as_its_tenant(api: APIClient, tenant: Tenant) -> None:
    response = api.get(URL)

    assert response.status_code == 200
    assert response.json()["slug"] == "acme"


def test_only_the_hash_of_a_token_is_stored(tenant: Tenant) -> None:
    issued = api_token_issue(tenant=tenant, label="ci")

    row = ApiToken.objects.get(pk=issued.token.pk)
    assert issued.raw not in {row.secret_hash, row.prefix, row.label}
    assert row.secret_hash == hash_token_secret(issued.raw)
    assert issued.raw.startswith(f"csms_{row.prefix}_")


def test_missing_token_is_401_json() -> None:
    response = APIClient().get(URL)

    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert "detail" in response.json()
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header",
    ["Bearer csms_nope_nope", "Bearer not-a-token", "Bearer", "Bearer a b", "Token abc"],
)
def test_wrong_token_is_401_json(tenant: Tenant, header: str) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)

    response = client.get(URL)

    assert response.status_code == 401
    assert response.json()["detail"]


def test_right_prefix_with_wrong_secret_is_401(tenant: Tenant) -> None:
    issued = api_token_issue(tenant=tenant)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer csms_{issued.token.prefix}_forged")

    assert client.get(URL).status_code == 401


def test_revoked_token_is_401(tenant: Tenant) -> None:
    issued = api_token_issue(tenant=tenant)
    api_token_revoke(token=issued.token)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.raw}")

    response = client.get(URL)

    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


def test_last_used_is_recorded_coarsely(tenant: Tenant) -> None:
    issued = api_token_issue(tenant=tenant)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.raw}")

    client.get(URL)
    first = ApiToken.objects.get(pk=issued.token.pk).last_used_at
    client.get(URL)
    second = ApiToken.objects.get(pk=issued.token.pk).last_used_at

    assert first is not None
    assert abs(first - timezone.now()) < timedelta(seconds=30)
    assert second == first  # no write per request within the resolution window
