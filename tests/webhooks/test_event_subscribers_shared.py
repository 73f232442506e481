"""Who listens to a tenant's events is read once per few seconds per process, not per frame."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from csms.tenancy.models import Tenant
from csms.webhooks.models import Delivery, Event, WebhookEndpoint
from csms.webhooks.services import events
from csms.webhooks.services.endpoints import webhook_endpoint_update
from csms.webhooks.services.events import event_emit, event_subscribers

pytestmark = pytest.mark.django_db


def test_a_tenants_endpoints_are_read_once_while_cached(
    tenant: Tenant, other_tenant: Tenant, endpoint: WebhookEndpoint
) -> None:
    with CaptureQueriesContext(connection) as queries:
        first = event_subscribers(tenant_id=tenant.pk, type="connector.status_changed")
        again = event_subscribers(tenant_id=tenant.pk, type="transaction.started")
        none = event_subscribers(tenant_id=other_tenant.pk, type="transaction.started")

    assert (first, again, none) == ([endpoint.pk], [endpoint.pk], [])
    assert len(queries.captured_queries) == 2  # one per tenant


def test_a_change_in_this_process_counts_at_the_very_next_event(
    tenant: Tenant, endpoint: WebhookEndpoint
) -> None:
    assert event_subscribers(tenant_id=tenant.pk, type="transaction.started") == [endpoint.pk]
    webhook_endpoint_update(endpoint=endpoint, active=False)

    assert event_subscribers(tenant_id=tenant.pk, type="transaction.started") == []


def test_a_change_elsewhere_counts_once_the_cache_is_stale(
    tenant: Tenant, endpoint: WebhookEndpoint, settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.WEBHOOKS_SUBSCRIBERS_CACHE_SECONDS = 5.0
    clock = [1000.0]
    monkeypatch.setattr(events.time, "monotonic", lambda: clock[0])
    assert event_subscribers(tenant_id=tenant.pk, type="transaction.started") == [endpoint.pk]
    # As another process would: no signal reaches this one.
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(active=False)

    clock[0] += 4.9
    still_cached = event_subscribers(tenant_id=tenant.pk, type="transaction.started")
    clock[0] += 0.2
    read_again = event_subscribers(tenant_id=tenant.pk, type="transaction.started")

    assert (still_cached, read_again) == ([endpoint.pk], [])


def test_an_endpoint_deleted_elsewhere_while_cached_gets_no_delivery(
    tenant: Tenant, endpoint: WebhookEndpoint
) -> None:
    assert event_subscribers(tenant_id=tenant.pk, type="transaction.started") == [endpoint.pk]
    with connection.cursor() as cursor:  # as another process would: no signal reaches this one
        table = connection.ops.quote_name(WebhookEndpoint._meta.db_table)
        cursor.execute(f"DELETE FROM {table} WHERE id = %s", [endpoint.pk])  # noqa: S608

    event = event_emit(tenant_id=tenant.pk, type="transaction.started", data={"x": 1})

    assert event is None
    assert not Event.objects.exists()
    assert not Delivery.objects.exists()
