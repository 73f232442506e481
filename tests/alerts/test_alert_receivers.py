"""§3 alerts react to domain events: events published on the bus (as the OCPP handlers, the
outbox and the firmware app publish them) open and close the tenant's alerts."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from django.core import mail

from csms import events
from csms.alerts.models import Alert, AlertKind, AlertRule, AlertState
from csms.tenancy.models import Tenant

pytestmark = pytest.mark.django_db
AT = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


def _status(tenant: Tenant, status: str, previous: str | None, **extra: Any) -> Any:
    return events.ConnectorStatusChanged(
        tenant_id=tenant.pk,
        charge_point_id=7,
        identity="CP-7",
        connector_id=2,
        status=status,
        previous_status=previous,
        error_code=extra.get("error_code", "NoError"),
        info="",
        vendor_error_code=extra.get("vendor_error_code", ""),
        timestamp=None,
    )


def _live() -> list[tuple[str, str, int]]:
    return list(Alert.objects.order_by("pk").values_list("kind", "state", "occurrences"))


def test_faulted_connector_opens_once_and_closes_when_it_recovers(
    tenant: Tenant,
    other_tenant: Tenant,
    make_rule: Callable[..., AlertRule],
    django_capture_on_commit_callbacks: Any,
) -> None:
    make_rule(AlertKind.CONNECTOR_FAULTED)
    # The snapshot is loaded by the charge point's connection (ChargePointConnected).
    events.publish(
        events.ChargePointConnected(
            tenant_id=tenant.pk, charge_point_id=7, identity="CP-7", connected_at=AT
        )
    )
    assert events.listened(events.ConnectorStatusChanged, tenant_id=tenant.pk)
    assert not events.listened(events.ConnectorStatusChanged, tenant_id=other_tenant.pk)
    with django_capture_on_commit_callbacks(execute=True):
        events.publish(
            _status(
                tenant, "Faulted", "Charging", error_code="GroundFailure", vendor_error_code="E"
            )
        )
        events.publish(_status(tenant, "Faulted", "Unavailable", error_code="GroundFailure"))
    assert _live() == [("connector_faulted", "open", 2)]
    assert Alert.objects.get().detail.startswith("connector 2: GroundFailure (E)")
    with django_capture_on_commit_callbacks(execute=True):
        events.publish(_status(tenant, "Available", "Faulted"))
    assert _live() == [("connector_faulted", "closed", 2)]
    assert [m.subject.split(": ")[-1] for m in mail.outbox] == [
        "1 opened, 0 closed",
        "0 opened, 1 closed",
    ]


def test_offline_is_pending_and_a_reconnect_clears_it_silently(
    tenant: Tenant, make_rule: Callable[..., AlertRule], django_capture_on_commit_callbacks: Any
) -> None:
    make_rule(AlertKind.OFFLINE, threshold_minutes=10)
    gone = events.ChargePointDisconnected(
        tenant_id=tenant.pk, charge_point_id=7, identity="CP-7", disconnected_at=AT
    )
    back = events.ChargePointConnected(
        tenant_id=tenant.pk, charge_point_id=7, identity="CP-7", connected_at=AT
    )
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(20):  # a flapping connection
            events.publish(gone)
            events.publish(back)
    assert {state for _, state, _ in _live()} == {AlertState.CLOSED}
    assert not mail.outbox


def test_boot_rejected_and_commands_and_security_events(
    tenant: Tenant, make_rule: Callable[..., AlertRule], django_capture_on_commit_callbacks: Any
) -> None:
    make_rule(AlertKind.BOOT_REJECTED)
    make_rule(AlertKind.COMMAND_FAILED, command_actions=["Reset"])
    make_rule(AlertKind.SECURITY_EVENT)
    base = {"tenant_id": tenant.pk, "charge_point_id": 7, "identity": "CP-7"}
    booted = {"vendor": "Acme", "model": "X", "serial_number": "", "firmware_version": "1"}
    command = {
        "payload": {},
        "response": None,
        "error_code": "",
        "error_description": "",
        "completed_at": AT,
        "requested_by_job": "",
    }
    with django_capture_on_commit_callbacks(execute=True):
        events.publish(
            events.ChargePointBooted(**base, registration_status="Rejected", booted_at=AT, **booted)
        )
        events.publish(
            events.CommandFailed(**base, command_id=1, action="Reset", status="timeout", **command)
        )
        # Not an action the rule watches.
        events.publish(
            events.CommandFailed(
                **base, command_id=2, action="ClearCache", status="failed", **command
            )
        )
        events.publish(
            events.SecurityEventReceived(
                **base, type="TamperDetectionActivated", timestamp="", tech_info="lid"
            )
        )
        events.publish(
            events.SecurityEventReceived(**base, type="InvalidMessages", timestamp="", tech_info="")
        )
    assert sorted((kind, state) for kind, state, _ in _live()) == [
        ("boot_rejected", "open"),
        ("command_failed", "open"),
        ("security_event", "open"),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        events.publish(
            events.ChargePointBooted(**base, registration_status="Accepted", booted_at=AT, **booted)
        )
        events.publish(
            events.CommandCompleted(
                **base,
                command_id=3,
                action="Reset",
                status="completed",
                **{**command, "response": {"status": "Accepted"}},
            )
        )
    assert sorted((kind, state) for kind, state, _ in _live()) == [
        ("boot_rejected", "closed"),
        ("command_failed", "closed"),
        ("security_event", "open"),  # closed by a person who looked at it
    ]


def test_a_failed_firmware_job_opens_and_an_installed_one_closes(
    tenant: Tenant, make_rule: Callable[..., AlertRule]
) -> None:
    make_rule(AlertKind.FIRMWARE_FAILED)
    base = {"tenant_id": tenant.pk, "charge_point_id": 7, "identity": "CP-7"}
    job = {"firmware_update_id": 3, "job_id": 4, "last_status": "", "error": "bad image"}
    events.publish(events.ChargePointConnected(**base, connected_at=AT))  # loads the snapshot
    assert events.listened(events.FirmwareStatusChanged, tenant_id=tenant.pk)
    events.publish(
        events.FirmwareStatusChanged(
            **base, status="installation_failed", previous_status="installing", **job
        )
    )
    assert _live() == [("firmware_failed", "open", 1)]
    events.publish(
        events.FirmwareStatusChanged(**base, status="installed", previous_status="pending", **job)
    )
    assert _live() == [("firmware_failed", "closed", 1)]
