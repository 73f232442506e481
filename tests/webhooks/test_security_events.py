"""The security log's rows as webhook events (issue 19 §4): the Central System's own as
``security_event.recorded`` (critical ones flagged), written in the transaction of the row."""

import pytest
from django.db import transaction

from chargepoints.security.security_log import CentralSystemEvent, security_event_log
from csms.tenancy.models import Tenant
from csms.webhooks.event_types import EventType
from csms.webhooks.models import Event, WebhookEndpoint

pytestmark = pytest.mark.django_db


def test_a_lockout_is_a_critical_security_event_recorded(
    tenant: Tenant, other_tenant: Tenant, endpoint: WebhookEndpoint
) -> None:
    with transaction.atomic():
        security_event_log(
            tenant_id=tenant.pk,
            charge_point_id=None,
            identity="CP-9",
            type=CentralSystemEvent.BRUTE_FORCE_LOCKOUT,
            tech_info="10 failed Basic-auth handshakes",
            source_address="10.0.0.7",
        )
        security_event_log(
            tenant_id=other_tenant.pk,
            charge_point_id=None,
            identity="CP-9",
            type=CentralSystemEvent.INVALID_CREDENTIALS,
        )

    (event,) = Event.objects.filter(tenant=tenant)
    assert event.type == EventType.SECURITY_EVENT_RECORDED
    assert {key: event.data[key] for key in ("charge_point", "type", "critical")} == {
        "charge_point": "CP-9",
        "type": "BasicAuthLockout",
        "critical": True,
    }
    assert event.data["source_address"] == "10.0.0.7"
    assert event.data["tech_info"] == "10 failed Basic-auth handshakes"
