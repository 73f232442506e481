"""Fixtures of the transactions tests (``cp``, ``other_cp``: tests/conftest.py)."""

import pytest

from chargepoints.models import IdTag
from csms.tenancy.models import Tenant
from tests.factories import IdTagFactory


@pytest.fixture
def tag(tenant: Tenant) -> IdTag:
    """``TAG-1``, Accepted in tenant acme, one active transaction at a time (the default)."""
    return IdTagFactory(tenant=tenant, id_tag="TAG-1", parent_id_tag="FLEET")
