"""``/api/v1/webhooks/`` and ``/api/v1/events/``: the secret shown once, tenancy, replays."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rest_framework.test import APIClient

from csms.tenancy.models import Tenant
from csms.webhooks.event_types import EventType
from csms.webhooks.models import Delivery, DeliveryStatus, Event, WebhookEndpoint
from csms.webhooks.services.events import event_emit
from tests.api_errors import errored_fields
from tests.webhooks.conftest import Receiver

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 2, 1, 12, 0, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def emit_at(tenant: Tenant, type_: str, at: datetime, **data: Any) -> Event:
    event = event_emit(tenant_id=tenant.pk, type=type_, data=data, now=at)
    assert event is not None
    return event


# --- Endpoints -------------------------------------------------------------------------------


def test_create_shows_the_secret_once_and_never_again(api: APIClient, receiver: Receiver) -> None:
    created = api.post(
        "/api/v1/webhooks/",
        {"url": receiver.url, "description": "ERP", "event_types": ["transaction.stopped"]},
        format="json",
    )

    assert created.status_code == 201, created.content
    body = created.json()
    secret = body["secret"]
    assert secret.startswith("whsec_")
    assert body["event_types"] == ["transaction.stopped"]
    assert body["active"] is True
    endpoint_url = f"/api/v1/webhooks/{body['id']}/"
    later = [
        api.get("/api/v1/webhooks/"),
        api.get(endpoint_url),
        api.patch(endpoint_url, {"description": "ERP (prod)"}, format="json"),
        api.post(f"{endpoint_url}test/"),
        api.get(f"{endpoint_url}deliveries/"),
    ]
    for response in later:
        assert response.status_code in (200, 202), response.content
        assert secret not in response.content.decode()
        assert b'"secret"' not in response.content
    assert WebhookEndpoint.objects.get().secret == secret  # kept: it signs every delivery


def test_endpoints_are_listed_and_changed(
    api: APIClient, tenant: Tenant, make_endpoint: Callable[..., WebhookEndpoint]
) -> None:
    endpoint = make_endpoint(tenant, description="first")

    listed = api.get("/api/v1/webhooks/").json()
    changed = api.patch(
        f"/api/v1/webhooks/{endpoint.pk}/",
        {"event_types": ["transaction.meter_values", "transaction.started"]},
        format="json",
    )

    assert listed["count"] == 1
    assert listed["results"][0]["description"] == "first"
    assert changed.status_code == 200
    assert changed.json()["event_types"] == ["transaction.meter_values", "transaction.started"]


@pytest.mark.parametrize("event_types", [["nope.never"], ["ping"]])
def test_unknown_or_unsubscribable_event_types_are_refused(
    api: APIClient, receiver: Receiver, event_types: list[str]
) -> None:
    response = api.post(
        "/api/v1/webhooks/", {"url": receiver.url, "event_types": event_types}, format="json"
    )

    assert response.status_code == 400
    assert "event_types" in errored_fields(response)
    assert not WebhookEndpoint.objects.exists()


def test_deactivating_cancels_pending_and_reactivating_forgets_failures(
    api: APIClient, tenant: Tenant, endpoint: WebhookEndpoint
) -> None:
    event = emit_at(tenant, EventType.TRANSACTION_STARTED, T0)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        consecutive_failures=3, failing_since=T0, disabled_reason="x"
    )

    off = api.patch(f"/api/v1/webhooks/{endpoint.pk}/", {"active": False}, format="json")
    on = api.patch(f"/api/v1/webhooks/{endpoint.pk}/", {"active": True}, format="json")

    assert off.status_code == on.status_code == 200
    assert Delivery.objects.get(event=event).status == DeliveryStatus.CANCELLED
    assert on.json()["disabled_reason"] == ""
    endpoint.refresh_from_db()
    assert (endpoint.active, endpoint.consecutive_failures, endpoint.failing_since) == (
        True,
        0,
        None,
    )


def test_test_sends_a_ping_to_that_endpoint_and_the_log_shows_it(
    api: APIClient,
    tenant: Tenant,
    make_endpoint: Callable[..., WebhookEndpoint],
    receiver: Receiver,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    endpoint = make_endpoint(tenant)
    make_endpoint(tenant, url=receiver.url.replace("/hooks", "/other"))

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/api/v1/webhooks/{endpoint.pk}/test/")

    assert response.status_code == 202
    assert response.json()["type"] == "ping"
    assert [(r.path, r.json["type"]) for r in receiver.requests] == [("/hooks", "ping")]
    log = api.get(f"/api/v1/webhooks/{endpoint.pk}/deliveries/").json()
    (delivery,) = log["results"]
    assert delivery["status"] == "delivered"
    assert delivery["event"] == response.json()["id"]
    assert delivery["event_type"] == "ping"
    (attempt,) = delivery["attempt_log"]
    assert attempt["attempt"] == 1
    assert attempt["status_code"] == 200
    assert attempt["response_excerpt"] == "ok"
    assert attempt["duration_ms"] >= 0


def test_delivery_log_filters_by_status(
    api: APIClient, tenant: Tenant, endpoint: WebhookEndpoint
) -> None:
    emit_at(tenant, EventType.TRANSACTION_STARTED, T0)
    Delivery.objects.update(status=DeliveryStatus.FAILED)
    emit_at(tenant, EventType.TRANSACTION_STOPPED, T0)

    failed = api.get(f"/api/v1/webhooks/{endpoint.pk}/deliveries/?status=failed").json()
    wrong = api.get(f"/api/v1/webhooks/{endpoint.pk}/deliveries/?status=bogus")

    assert [d["event_type"] for d in failed["results"]] == ["transaction.started"]
    assert wrong.status_code == 400


def test_a_disabled_endpoint_cannot_be_pinged(
    api: APIClient, tenant: Tenant, endpoint: WebhookEndpoint
) -> None:
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(active=False)

    response = api.post(f"/api/v1/webhooks/{endpoint.pk}/test/")

    assert response.status_code == 400
    assert not Event.objects.exists()


def test_endpoints_can_be_deleted(
    api: APIClient, tenant: Tenant, endpoint: WebhookEndpoint
) -> None:
    emit_at(tenant, EventType.TRANSACTION_STARTED, T0)

    assert api.delete(f"/api/v1/webhooks/{endpoint.pk}/").status_code == 204

    assert not WebhookEndpoint.objects.exists()
    assert not Delivery.objects.exists()


# --- Events ----------------------------------------------------------------------------------


def test_events_are_listed_newest_first_and_filtered_by_type_and_time(
    api: APIClient, tenant: Tenant, endpoint: WebhookEndpoint
) -> None:
    early = emit_at(tenant, EventType.TRANSACTION_STARTED, T0, transaction_id=1)
    middle = emit_at(tenant, EventType.TRANSACTION_STOPPED, T0 + timedelta(hours=1), energy_wh=5)
    late = emit_at(tenant, EventType.TRANSACTION_STARTED, T0 + timedelta(hours=2))

    everything = api.get("/api/v1/events/").json()
    starts = api.get("/api/v1/events/?type=transaction.started").json()
    window = api.get(
        "/api/v1/events/",
        {"created_after": iso(T0 + timedelta(minutes=30)), "created_before": iso(late.created_at)},
    ).json()
    both = api.get("/api/v1/events/?type=transaction.started&type=transaction.stopped").json()

    assert [e["id"] for e in everything["results"]] == [str(late.id), str(middle.id), str(early.id)]
    assert [e["id"] for e in starts["results"]] == [str(late.id), str(early.id)]
    assert [e["id"] for e in window["results"]] == [str(middle.id)]
    assert both["count"] == 3
    assert window["results"][0] == {
        "id": str(middle.id),
        "type": "transaction.stopped",
        "created_at": "2025-02-01T13:00:00Z",
        "tenant": "acme",
        "data": {"energy_wh": 5},
    }


def test_replaying_one_event_sends_it_again_with_the_same_id(
    api: APIClient,
    tenant: Tenant,
    endpoint: WebhookEndpoint,
    receiver: Receiver,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    event = emit_at(tenant, EventType.TRANSACTION_STOPPED, T0, energy_wh=7)
    Delivery.objects.update(status=DeliveryStatus.DELIVERED)

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/api/v1/events/{event.id}/replay/", {}, format="json")

    assert response.status_code == 202
    assert response.json() == {"events": 1, "deliveries": 1}
    (request,) = receiver.requests
    assert request.headers["webhook-id"] == str(event.id)
    assert request.json["data"] == {"energy_wh": 7}
    assert Delivery.objects.filter(event=event, replay=True, status="delivered").count() == 1


def test_replaying_a_time_range_sends_its_events_oldest_first(
    api: APIClient,
    tenant: Tenant,
    make_endpoint: Callable[..., WebhookEndpoint],
    receiver: Receiver,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    endpoint = make_endpoint(tenant)
    first = emit_at(tenant, EventType.TRANSACTION_STARTED, T0 + timedelta(minutes=1))
    second = emit_at(tenant, EventType.TRANSACTION_STOPPED, T0 + timedelta(minutes=2))
    emit_at(tenant, EventType.TRANSACTION_STARTED, T0 + timedelta(days=1))  # outside
    Delivery.objects.update(status=DeliveryStatus.DELIVERED)
    # An endpoint added since: a replay to it alone catches it up.
    newcomer = make_endpoint(tenant, url=receiver.url.replace("/hooks", "/new"))

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/api/v1/events/replay/",
            {
                "created_after": iso(T0),
                "created_before": iso(T0 + timedelta(hours=1)),
                "endpoint": newcomer.pk,
            },
            format="json",
        )

    assert response.status_code == 202, response.content
    assert response.json() == {"events": 2, "deliveries": 2}
    assert [(r.path, r.json["id"]) for r in receiver.requests] == [
        ("/new", str(first.id)),
        ("/new", str(second.id)),
    ]
    assert not Delivery.objects.filter(endpoint=endpoint, replay=True).exists()


def test_replaying_a_range_by_type_to_every_subscribed_endpoint(
    api: APIClient, tenant: Tenant, make_endpoint: Callable[..., WebhookEndpoint]
) -> None:
    everything = make_endpoint(tenant)
    stops = make_endpoint(tenant, event_types=["transaction.stopped"])
    emit_at(tenant, EventType.TRANSACTION_STARTED, T0 + timedelta(minutes=1))
    emit_at(tenant, EventType.TRANSACTION_STOPPED, T0 + timedelta(minutes=2))

    response = api.post(
        "/api/v1/events/replay/",
        {
            "created_after": iso(T0),
            "created_before": iso(T0 + timedelta(hours=1)),
            "type": "transaction.stopped",
        },
        format="json",
    )

    assert response.json() == {"events": 1, "deliveries": 2}
    replayed = Delivery.objects.filter(replay=True)
    assert {d.endpoint_id for d in replayed} == {everything.pk, stops.pk}


def test_a_replay_range_must_be_a_range(api: APIClient) -> None:
    response = api.post(
        "/api/v1/events/replay/",
        {"created_after": iso(T0), "created_before": iso(T0)},
        format="json",
    )

    assert response.status_code == 400


def test_a_replay_range_is_bounded(
    api: APIClient, tenant: Tenant, endpoint: WebhookEndpoint, settings: Any
) -> None:
    settings.WEBHOOKS_REPLAY_MAX_EVENTS = 2
    for minute in range(3):
        emit_at(tenant, EventType.TRANSACTION_STARTED, T0 + timedelta(minutes=minute))
    before = Delivery.objects.count()

    response = api.post(
        "/api/v1/events/replay/",
        {"created_after": iso(T0), "created_before": iso(T0 + timedelta(hours=1))},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["code"] == "too_many"
    assert Delivery.objects.count() == before


# --- Tenancy ---------------------------------------------------------------------------------


def test_another_tenants_endpoints_and_events_are_404(
    api: APIClient,
    other_tenant: Tenant,
    make_endpoint: Callable[..., WebhookEndpoint],
) -> None:
    foreign = make_endpoint(other_tenant)
    event = emit_at(other_tenant, EventType.TRANSACTION_STARTED, T0)

    responses = [
        api.get(f"/api/v1/webhooks/{foreign.pk}/"),
        api.patch(f"/api/v1/webhooks/{foreign.pk}/", {"description": "mine"}, format="json"),
        api.delete(f"/api/v1/webhooks/{foreign.pk}/"),
        api.post(f"/api/v1/webhooks/{foreign.pk}/test/"),
        api.get(f"/api/v1/webhooks/{foreign.pk}/deliveries/"),
        api.get(f"/api/v1/events/{event.id}/"),
        api.post(f"/api/v1/events/{event.id}/replay/", {}, format="json"),
    ]

    assert [r.status_code for r in responses] == [404] * len(responses)
    assert api.get("/api/v1/webhooks/").json()["count"] == 0
    assert api.get("/api/v1/events/").json()["count"] == 0
    foreign.refresh_from_db()
    assert foreign.description == ""
    assert Event.objects.filter(type="ping").count() == 0
    assert Delivery.objects.filter(replay=True).count() == 0


def test_replay_to_another_tenants_endpoint_is_refused(
    api: APIClient,
    tenant: Tenant,
    other_tenant: Tenant,
    make_endpoint: Callable[..., WebhookEndpoint],
) -> None:
    make_endpoint(tenant)
    foreign = make_endpoint(other_tenant)
    event = emit_at(tenant, EventType.TRANSACTION_STARTED, T0)

    one = api.post(f"/api/v1/events/{event.id}/replay/", {"endpoint": foreign.pk}, format="json")
    many = api.post(
        "/api/v1/events/replay/",
        {
            "created_after": iso(T0 - timedelta(hours=1)),
            "created_before": iso(T0 + timedelta(hours=1)),
            "endpoint": foreign.pk,
        },
        format="json",
    )

    assert (one.status_code, many.status_code) == (400, 400)
    assert not Delivery.objects.filter(endpoint=foreign).exists()


def test_the_api_needs_a_token(client: Any) -> None:
    assert client.get("/api/v1/webhooks/").status_code in (401, 403)
    assert client.get("/api/v1/events/").status_code in (401, 403)


def test_the_openapi_description_names_every_event_type(client: Any) -> None:
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    described = {
        value
        for component in schema["components"]["schemas"].values()
        for value in component.get("enum") or ()
        if isinstance(value, str)
    }
    assert {"charging_profile.rejected", "reservation.changed"} <= described
    assert set(EventType.values) <= described
