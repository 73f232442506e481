"""Every emission point writes its event in the transaction of the change it describes.

Handlers and services are called as the OCPP layer calls them (inside one transaction); the
events are read from the outbox (deliveries are covered by the other test modules).
"""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from chargepoints import handlers as cp_handlers
from chargepoints.commands.dispatch import command_dispatch
from chargepoints.commands.outbox import expire_due_commands, outbox_complete, outbox_fail
from chargepoints.models import ChargePoint, Command, CommandStatus, IdTag
from chargepoints.ocpp_backend import close_session, open_session
from chargepoints.services.charge_points import charge_point_registration_set, charge_point_update
from csms.tenancy.models import Tenant
from csms.webhooks.event_types import EventType
from csms.webhooks.models import Event, WebhookEndpoint
from tests.charge_point_calls import call_context
from transactions import handlers as tx_handlers

pytestmark = pytest.mark.django_db

T0 = "2025-03-01T10:00:00Z"


def events(type_: str | None = None) -> list[Event]:
    found = Event.objects.order_by("created_at", "id")
    return list(found.filter(type=type_) if type_ else found)


def handle(handler: Callable[..., Any], station: ChargePoint, payload: dict[str, Any]) -> Any:
    """As the OCPP layer runs a handler: inside one transaction."""
    with transaction.atomic():
        return handler(call_context(station), payload)


def status(connector_id: int, value: str) -> dict[str, Any]:
    return {"connector_id": connector_id, "status": value, "error_code": "NoError"}


def test_connect_and_disconnect_are_events(tenant: Tenant, endpoint: WebhookEndpoint) -> None:
    station = ChargePoint.objects.create(tenant=tenant, identity="CP-7")

    session, _ = open_session(
        tenant_slug="acme",
        identity="CP-7",
        authorization=None,
        channel_name="chan-1",
        client="test",
    )
    close_session(session=session, channel_name="chan-1")

    connected, disconnected = events()
    assert connected.type == EventType.CHARGE_POINT_CONNECTED
    assert connected.data["charge_point"] == "CP-7"
    assert connected.charge_point_id == station.pk
    assert disconnected.type == EventType.CHARGE_POINT_DISCONNECTED


def test_the_close_of_a_taken_over_connection_is_no_disconnect(
    tenant: Tenant, endpoint: WebhookEndpoint
) -> None:
    ChargePoint.objects.create(tenant=tenant, identity="CP-7")
    old, _ = open_session(
        tenant_slug="acme", identity="CP-7", authorization=None, channel_name="old", client="t"
    )
    open_session(
        tenant_slug="acme", identity="CP-7", authorization=None, channel_name="new", client="t"
    )

    close_session(session=old, channel_name="old")

    assert [e.type for e in events()] == ["charge_point.connected"] * 2


def test_boot_is_an_event_with_the_registration_status(
    tenant: Tenant, endpoint: WebhookEndpoint, cp: ChargePoint
) -> None:
    handle(
        cp_handlers.boot_notification,
        cp,
        {"charge_point_vendor": "VendorX", "charge_point_model": "M7", "firmware_version": "1.2"},
    )

    (booted,) = events(EventType.CHARGE_POINT_BOOTED)
    assert booted.data | {"booted_at": None} == {
        "charge_point": "CP-1",
        "registration_status": "Accepted",
        "vendor": "VendorX",
        "model": "M7",
        "serial_number": "",
        "firmware_version": "1.2",
        "booted_at": None,
    }


def test_registration_changes_are_events_only_when_the_status_changes(
    tenant: Tenant, endpoint: WebhookEndpoint, cp: ChargePoint
) -> None:
    pending = ChargePoint.objects.create(
        tenant=tenant, identity="CP-P", registration_status="Pending"
    )

    charge_point_registration_set(
        charge_point_ids=[cp.pk, pending.pk], registration_status="Accepted"
    )
    charge_point_update(charge_point=pending, registration_status="Rejected")
    charge_point_update(charge_point=pending, name="renamed")

    changes = [
        (
            e.data["charge_point"],
            e.data["previous_registration_status"],
            e.data["registration_status"],
        )
        for e in events(EventType.CHARGE_POINT_REGISTRATION_CHANGED)
    ]
    assert changes == [("CP-P", "Pending", "Accepted"), ("CP-P", "Accepted", "Rejected")]


def test_connector_status_is_an_event_only_when_it_changes(
    tenant: Tenant, endpoint: WebhookEndpoint, cp: ChargePoint
) -> None:
    for report in (
        status(1, "Available"),
        status(1, "Available"),  # a repeat (e.g. after a reboot): no event
        status(1, "Charging"),
        status(2, "Available"),
    ):
        handle(cp_handlers.status_notification, cp, report)

    changes = [
        (e.data["connector_id"], e.data["previous_status"], e.data["status"])
        for e in events(EventType.CONNECTOR_STATUS_CHANGED)
    ]
    assert changes == [(1, None, "Available"), (1, "Available", "Charging"), (2, None, "Available")]


def test_status_notifications_cost_no_query_more_for_a_tenant_without_webhooks(
    tenant: Tenant, cp: ChargePoint, django_assert_num_queries: Callable[..., Any]
) -> None:
    handle(cp_handlers.status_notification, cp, status(1, "Available"))

    # The connector update and the history row; the subscription check was answered from the
    # process's cache (read by the first notification).
    with django_assert_num_queries(2):
        cp_handlers.status_notification(call_context(cp), status(1, "Charging"))


def test_transaction_start_and_stop_are_events_with_energy(
    tenant: Tenant, endpoint: WebhookEndpoint, cp: ChargePoint
) -> None:
    IdTag.objects.create(tenant=tenant, id_tag="TAG-1")
    started = handle(
        tx_handlers.start_transaction,
        cp,
        {"connector_id": 1, "id_tag": "TAG-1", "meter_start": 1000, "timestamp": T0},
    )
    transaction_id = started["transaction_id"]
    handle(
        tx_handlers.stop_transaction,
        cp,
        {"transaction_id": transaction_id, "meter_stop": 13500, "timestamp": T0[:-3] + "45Z"},
    )

    (start,) = events(EventType.TRANSACTION_STARTED)
    (stop,) = events(EventType.TRANSACTION_STOPPED)
    assert start.data["transaction_id"] == transaction_id
    assert start.data["id_tag_status"] == "Accepted"
    assert stop.data["energy_wh"] == 12500
    assert (stop.data["meter_start"], stop.data["meter_stop"]) == (1000, 13500)
    assert stop.data["stop_reason"] == "Local"
    assert not events(EventType.AUTHORIZATION_DENIED)


def test_a_retried_start_transaction_is_one_event(
    tenant: Tenant, endpoint: WebhookEndpoint, cp: ChargePoint
) -> None:
    payload = {"connector_id": 1, "id_tag": "TAG-1", "meter_start": 1000, "timestamp": T0}
    handle(tx_handlers.start_transaction, cp, payload)
    handle(tx_handlers.start_transaction, cp, payload)

    assert len(events(EventType.TRANSACTION_STARTED)) == 1


def test_denied_authorizations_are_events(
    tenant: Tenant, endpoint: WebhookEndpoint, cp: ChargePoint
) -> None:
    IdTag.objects.create(tenant=tenant, id_tag="GOOD")
    IdTag.objects.create(tenant=tenant, id_tag="BLOCKED", status="Blocked")

    handle(cp_handlers.authorize, cp, {"id_tag": "GOOD"})
    handle(cp_handlers.authorize, cp, {"id_tag": "BLOCKED"})
    handle(
        tx_handlers.start_transaction,
        cp,
        {"connector_id": 2, "id_tag": "NOBODY", "meter_start": 0, "timestamp": T0},
    )

    denied = [
        (e.data["action"], e.data["id_tag"], e.data["status"])
        for e in events(EventType.AUTHORIZATION_DENIED)
    ]
    assert denied == [
        ("Authorize", "BLOCKED", "Blocked"),
        ("StartTransaction", "NOBODY", "Invalid"),
    ]
    # The transaction exists all the same (SPEC §4), and is an event too.
    (started,) = events(EventType.TRANSACTION_STARTED)
    assert started.data["id_tag_status"] == "Invalid"


def test_command_results_are_events(
    tenant: Tenant, endpoint: WebhookEndpoint, cp: ChargePoint
) -> None:
    def dispatched() -> Command:
        command = command_dispatch(charge_point=cp, action="ClearCache", payload={})
        Command.objects.filter(pk=command.pk).update(
            status=CommandStatus.SENT, sent_at=timezone.now()
        )
        return command

    completed, failed, timed_out = dispatched(), dispatched(), dispatched()
    expired = command_dispatch(charge_point=cp, action="ClearCache", payload={}, ttl_seconds=0)

    outbox_complete(command_id=completed.pk, response={"status": "Accepted"})
    outbox_fail(
        command_id=failed.pk, status=CommandStatus.FAILED, code="InternalError", description="x"
    )
    outbox_fail(
        command_id=timed_out.pk, status=CommandStatus.TIMEOUT, code="Timeout", description=""
    )
    expire_due_commands()

    results = {e.data["command_id"]: (e.type, e.data["status"]) for e in events()}
    assert results == {
        completed.pk: ("command.completed", "completed"),
        failed.pk: ("command.failed", "failed"),
        timed_out.pk: ("command.timed_out", "timeout"),
        expired.pk: ("command.timed_out", "expired"),
    }
    (done,) = events(EventType.COMMAND_COMPLETED)
    assert done.data["response"] == {"status": "Accepted"}
    assert done.data["action"] == "ClearCache"


def test_data_transfer_and_security_events_are_events(
    tenant: Tenant, endpoint: WebhookEndpoint, cp: ChargePoint
) -> None:
    handle(
        cp_handlers.data_transfer, cp, {"vendor_id": "com.acme", "message_id": "m", "data": "hi"}
    )
    notification = {"type": "FirmwareUpdated", "timestamp": T0, "tech_info": "v2"}
    handle(cp_handlers.security_event_notification, cp, notification)
    handle(cp_handlers.security_event_notification, cp, notification)  # retried: stored once

    (transfer,) = events(EventType.DATA_TRANSFER_RECEIVED)
    assert transfer.data == {
        "charge_point": "CP-1",
        "vendor_id": "com.acme",
        "message_id": "m",
        "data": "hi",
        "answer_status": "UnknownVendorId",
    }
    (security,) = events(EventType.SECURITY_EVENT_RECEIVED)
    assert security.data["type"] == "FirmwareUpdated"


def meter_values(transaction_id: int | None, value: str = "1500") -> dict[str, Any]:
    payload: dict[str, Any] = {
        "connector_id": 1,
        "meter_value": [{"timestamp": T0, "sampled_value": [{"value": value}]}],
    }
    if transaction_id is not None:
        payload["transaction_id"] = transaction_id
    return payload


def test_meter_values_are_opt_in_and_sampled_per_transaction(
    tenant: Tenant,
    make_endpoint: Callable[..., WebhookEndpoint],
    cp: ChargePoint,
    settings: Any,
) -> None:
    settings.WEBHOOKS_METER_VALUES_INTERVAL_SECONDS = 300
    make_endpoint(tenant)  # "all events": meter values not included
    assert events() == []
    handle(tx_handlers.meter_values, cp, meter_values(41))
    assert events() == []

    opted_in = make_endpoint(tenant, event_types=["transaction.meter_values"])
    handle(tx_handlers.meter_values, cp, meter_values(41, "1500"))
    handle(tx_handlers.meter_values, cp, meter_values(41, "1600"))  # within the interval
    handle(tx_handlers.meter_values, cp, meter_values(42, "90"))  # another transaction
    handle(tx_handlers.meter_values, cp, meter_values(None, "5"))  # no transaction: never

    sampled = events(EventType.TRANSACTION_METER_VALUES)
    assert [
        (e.data["transaction_id"], e.data["meter_value"][0]["sampled_value"][0]["value"])
        for e in sampled
    ] == [
        (41, "1500"),
        (42, "90"),
    ]
    assert {d.endpoint_id for e in sampled for d in e.deliveries.all()} == {opted_in.pk}

    # Once the interval has passed, the next one is sent.
    Event.objects.update(created_at=timezone.now() - timedelta(seconds=301))
    handle(tx_handlers.meter_values, cp, meter_values(41, "1700"))
    assert len(events(EventType.TRANSACTION_METER_VALUES)) == 3


def test_another_tenants_endpoints_hear_nothing(
    tenant: Tenant,
    other_tenant: Tenant,
    make_endpoint: Callable[..., WebhookEndpoint],
    cp: ChargePoint,
) -> None:
    make_endpoint(other_tenant)

    handle(cp_handlers.status_notification, cp, status(1, "Faulted"))
    handle(cp_handlers.authorize, cp, {"id_tag": "UNKNOWN"})

    assert events() == []


def test_a_handler_that_fails_after_emitting_leaves_no_event(
    tenant: Tenant, endpoint: WebhookEndpoint, cp: ChargePoint
) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        cp_handlers.status_notification(call_context(cp), status(1, "Faulted"))
        raise RuntimeError("the handler crashed after the write")

    assert events() == []


def test_event_times_are_aware_and_json_safe(
    tenant: Tenant, endpoint: WebhookEndpoint, cp: ChargePoint
) -> None:
    handle(cp_handlers.status_notification, cp, status(1, "Available") | {"timestamp": T0})

    (event,) = events()
    event.refresh_from_db()
    assert event.created_at.tzinfo is not None
    assert event.data["timestamp"] == T0
    assert datetime.fromisoformat(event.data["timestamp"]) == datetime(2025, 3, 1, 10, tzinfo=UTC)
