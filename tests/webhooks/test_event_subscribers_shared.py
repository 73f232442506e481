"""A batch of OCPP calls reads a tenant's webhook endpoints once, not once per frame."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from csms.tenancy.models import Tenant
from csms.webhooks.models import WebhookEndpoint
from csms.webhooks.services.events import event_subscribers, event_subscribers_shared

pytestmark = pytest.mark.django_db


def test_inside_a_batch_each_tenants_endpoints_are_read_once(
    tenant: Tenant, other_tenant: Tenant, endpoint: WebhookEndpoint
) -> None:
    with CaptureQueriesContext(connection) as queries, event_subscribers_shared():
        first = event_subscribers(tenant_id=tenant.pk, type="connector.status_changed")
        again = event_subscribers(tenant_id=tenant.pk, type="transaction.started")
        none = event_subscribers(tenant_id=other_tenant.pk, type="transaction.started")

    assert (first, again, none) == ([endpoint.pk], [endpoint.pk], [])
    assert len(queries.captured_queries) == 2  # one per tenant


def test_outside_a_batch_a_new_endpoint_counts_at_the_very_next_event(
    tenant: Tenant, endpoint: WebhookEndpoint
) -> None:
    assert event_subscribers(tenant_id=tenant.pk, type="transaction.started") == [endpoint.pk]
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(active=False)

    assert event_subscribers(tenant_id=tenant.pk, type="transaction.started") == []
