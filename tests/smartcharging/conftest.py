"""Fixtures of the smart-charging tests (two tenants, as always: tests/conftest.py)."""

import pytest

from chargepoints.models import ChargePoint
from csms.tenancy.models import Tenant
from tests.factories import ChargePointFactory


@pytest.fixture
def cp(tenant: Tenant) -> ChargePoint:
    return ChargePointFactory(tenant=tenant, identity="CP-1")


@pytest.fixture
def other_cp(other_tenant: Tenant) -> ChargePoint:
    return ChargePointFactory(tenant=other_tenant, identity="CP-THEIRS")
