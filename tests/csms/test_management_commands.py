import io

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from csms.tenancy.models import ApiToken, Tenant

pytestmark = pytest.mark.django_db


def test_create_tenant_is_idempotent() -> None:
    call_command("create_tenant", "acme", "--name", "Acme", stdout=io.StringIO())
    call_command("create_tenant", "acme", "--name", "Acme Charging", stdout=io.StringIO())
    call_command("create_tenant", "acme", stdout=io.StringIO())

    assert Tenant.objects.count() == 1
    assert Tenant.objects.get().name == "Acme Charging"


def test_create_tenant_refuses_a_bad_slug() -> None:
    with pytest.raises(CommandError, match="Invalid slug"):
        call_command("create_tenant", "not a slug", stdout=io.StringIO())
    assert not Tenant.objects.exists()


def test_issue_api_token_prints_a_working_token_as_last_line(tenant: Tenant) -> None:
    out = io.StringIO()

    call_command("issue_api_token", "acme", "--label", "ci", stdout=out, stderr=io.StringIO())

    raw = out.getvalue().splitlines()[-1]
    assert raw.strip() == raw and " " not in raw
    token = ApiToken.objects.get()
    assert token.label == "ci"
    assert raw not in token.secret_hash
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get("/api/v1/tenant/").json()["slug"] == "acme"


def test_issue_api_token_for_unknown_tenant_fails() -> None:
    with pytest.raises(CommandError, match="No tenant"):
        call_command("issue_api_token", "ghost", stdout=io.StringIO())
