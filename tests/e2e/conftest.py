"""Fixtures of the end-to-end tests (the live server's: tests/live_fixtures.py)."""

import pytest

from chargepoints.models import IdTag
from csms.tenancy.models import Tenant


@pytest.fixture
def tag(tenant: Tenant) -> IdTag:
    """``TAG-OK``, Accepted in tenant acme."""
    return IdTag.objects.create(tenant=tenant, id_tag="TAG-OK")
