"""Alert tests: rules of two tenants; the per-process rule snapshots never outlive a test."""

from collections.abc import Callable, Iterator

import pytest

from csms.alerts.models import AlertKind, AlertRule
from csms.alerts.rules import rules_forget
from csms.tenancy.models import Tenant


@pytest.fixture(autouse=True)
def _rule_snapshots_forgotten() -> Iterator[None]:
    rules_forget()
    yield
    rules_forget()


@pytest.fixture
def make_rule(tenant: Tenant) -> Callable[..., AlertRule]:
    def make(
        kind: str = AlertKind.CONNECTOR_FAULTED, *, tenant: Tenant = tenant, **fields: object
    ) -> AlertRule:
        fields.setdefault("name", f"{kind} rule")
        fields.setdefault("email_recipients", "ops@example.com, oncall@example.com")
        return AlertRule.objects.create(tenant=tenant, kind=kind, **fields)

    return make
