"""Simulator tests run the fleet against the suite's real daphne (tests/live_fixtures.py)."""

from collections.abc import Callable
from typing import Any

import pytest

from csms.tenancy.models import Tenant
from simulator.config import FleetConfig
from simulator.fleet import Fleet
from simulator.provision import fleet_provision
from tests.async_orm import orm


def small_fleet_config(server_url: str, tenant: Tenant, **overrides: Any) -> FleetConfig:
    """Five charge points with everything sped up (sessions of a second)."""
    values: dict[str, Any] = {
        "urls": (f"{server_url}/ocpp/{tenant.slug}/",),
        "count": 5,
        "connectors": 1,
        "charging_share": 0.0,
        "meter_interval": 0.2,
        "session_seconds": (0.6, 0.8),
        "idle_seconds": (0.2, 0.4),
        "ramp_seconds": 0.3,
        "call_timeout": 5.0,
        "reconnect_delay": (0.1, 0.2),
        "seed": 7,
    }
    values.update(overrides)
    return FleetConfig(**values)


@pytest.fixture
def fleet_of(tenant: Tenant) -> Callable[..., Fleet]:
    """``await fleet_of(url)``: a provisioned fleet of tenant ``acme`` (not started)."""

    async def make(server_url: str, **overrides: Any) -> Fleet:
        config = small_fleet_config(server_url, tenant, **overrides)
        await orm(fleet_provision, tenant_slug=tenant.slug, config=config)
        return Fleet(config)

    return make
