"""Staff admin of webhooks: pages render, the secret is shown once, events are replayed."""

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from csms.tenancy.models import Tenant
from csms.webhooks.event_types import EventType
from csms.webhooks.models import Delivery, DeliveryAttempt, Event, WebhookEndpoint
from csms.webhooks.services.deliveries import delivery_attempt
from csms.webhooks.services.events import event_emit
from tests.admin_pages import admin_url
from tests.webhooks.conftest import Receiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def delivered(tenant: Tenant, endpoint: WebhookEndpoint, receiver: Receiver) -> Delivery:
    event = event_emit(tenant_id=tenant.pk, type=EventType.TRANSACTION_STARTED, data={"a": 1})
    delivery = Delivery.objects.get(event=event)
    delivery_attempt(delivery_id=delivery.pk)
    return delivery


def test_every_webhook_admin_page_renders(admin_client: Client, delivered: Delivery) -> None:
    attempt = DeliveryAttempt.objects.get()
    pages = [
        admin_url(WebhookEndpoint, "changelist"),
        admin_url(WebhookEndpoint, "add"),
        admin_url(WebhookEndpoint, "change", delivered.endpoint_id),
        admin_url(Event, "changelist"),
        admin_url(Event, "change", delivered.event_id),
        admin_url(Delivery, "changelist"),
        admin_url(Delivery, "change", delivered.pk),
        admin_url(DeliveryAttempt, "changelist"),
        admin_url(DeliveryAttempt, "change", attempt.pk),
    ]

    for page in pages:
        response = admin_client.get(page)
        assert response.status_code == 200, page


def test_the_secret_is_never_on_an_admin_page(
    admin_client: Client, delivered: Delivery, endpoint: WebhookEndpoint
) -> None:
    for page in (
        admin_url(WebhookEndpoint, "changelist"),
        admin_url(WebhookEndpoint, "change", endpoint.pk),
        admin_url(Delivery, "change", delivered.pk),
    ):
        assert endpoint.secret not in admin_client.get(page).content.decode()


def test_staff_add_an_endpoint_and_see_its_secret_once(
    admin_client: Client, tenant: Tenant, receiver: Receiver
) -> None:
    response = admin_client.post(
        admin_url(WebhookEndpoint, "add"),
        {
            "tenant": tenant.pk,
            "url": receiver.url,
            "description": "staff-made",
            "event_types": ["transaction.started", "transaction.stopped"],
            "active": "on",
            "deliveries-TOTAL_FORMS": "0",
            "deliveries-INITIAL_FORMS": "0",
        },
        follow=True,
    )

    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.event_types == ["transaction.started", "transaction.stopped"]
    assert endpoint.secret.startswith("whsec_")
    shown = [str(m) for m in get_messages(response.wsgi_request)]
    assert any(endpoint.secret in m for m in shown)
    page = admin_client.get(admin_url(WebhookEndpoint, "change", endpoint.pk)).content.decode()
    assert endpoint.secret not in page


def test_staff_cannot_add_an_endpoint_on_a_private_address(
    admin_client: Client, tenant: Tenant, settings: Any
) -> None:
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False

    response = admin_client.post(
        admin_url(WebhookEndpoint, "add"),
        {
            "tenant": tenant.pk,
            "url": "http://169.254.169.254/latest/",
            "active": "on",
            "deliveries-TOTAL_FORMS": "0",
            "deliveries-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 200  # the form again, with the error
    assert "non-public address" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_replay_action_sends_the_selected_events_again(
    admin_client: Client,
    delivered: Delivery,
    receiver: Receiver,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            admin_url(Event, "changelist"),
            {"action": "replay", "_selected_action": [str(delivered.event_id)]},
            follow=True,
        )

    assert response.status_code == 200
    assert Delivery.objects.filter(event_id=delivered.event_id, replay=True).count() == 1
    assert [r.headers["webhook-id"] for r in receiver.requests] == [str(delivered.event_id)] * 2


def test_test_action_pings_the_selected_endpoints(
    admin_client: Client, endpoint: WebhookEndpoint
) -> None:
    admin_client.post(
        admin_url(WebhookEndpoint, "changelist"),
        {"action": "send_test_event", "_selected_action": [str(endpoint.pk)]},
    )

    ping = Event.objects.get(type=EventType.PING)
    assert list(ping.deliveries.values_list("endpoint", flat=True)) == [endpoint.pk]


def test_staff_deactivating_an_endpoint_cancels_what_was_still_to_be_sent(
    admin_client: Client, tenant: Tenant, endpoint: WebhookEndpoint
) -> None:
    event = event_emit(tenant_id=tenant.pk, type=EventType.TRANSACTION_STARTED, data={})

    admin_client.post(
        admin_url(WebhookEndpoint, "change", endpoint.pk),
        {
            "url": endpoint.url,
            "description": "paused",
            "deliveries-TOTAL_FORMS": "0",
            "deliveries-INITIAL_FORMS": "0",
        },
    )

    endpoint.refresh_from_db()
    assert (endpoint.active, endpoint.description) == (False, "paused")
    assert Delivery.objects.get(event=event).status == "cancelled"
