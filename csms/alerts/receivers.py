"""The alerts' subscribers on the event bus: each turns one domain event into ``alert_raise`` or
``alert_clear`` for the tenant's rules of that kind. A tenant without rules costs no query
(``csms.alerts.rules``). Every subscriber is isolated: a failure here is logged and rolled back
alone, never the OCPP change that published the event.
"""

from collections.abc import Callable
from datetime import timedelta

from django.utils import timezone

from csms.alerts.models import AlertKind
from csms.alerts.rules import rules_known, rules_of
from csms.alerts.services import alert_clear, alert_raise, charge_point_subject
from csms.events import (
    ChargePointBooted,
    ChargePointConnected,
    ChargePointDisconnected,
    ChargePointRegistrationChanged,
    CommandCompleted,
    CommandFailed,
    ConnectorStatusChanged,
    FirmwareStatusChanged,
    SecurityEventReceived,
    subscriber,
)

FAULTED = "Faulted"  # OCPP 1.6 §7.7 ChargePointStatus
REJECTED = "Rejected"  # OCPP 1.6 §7.42 RegistrationStatus
# Firmware job statuses that end a job badly (firmware.models.FirmwareJobStatus); "installed"
# and "verified" clear the alert.
FIRMWARE_FAILURES = frozenset(
    {"download_failed", "installation_failed", "version_mismatch", "failed", "timed_out"}
)
FIRMWARE_SUCCESSES = frozenset({"installed", "verified"})


def _has_rules(kind: AlertKind) -> Callable[[int], bool]:
    """``listens`` for the bus: whether the tenant has rules of ``kind`` (the snapshot is read,
    or loaded once per ALERTS_RULES_CACHE_SECONDS). A subscriber that would find none is not
    run, so a boot or a handshake of a tenant without such rules costs no savepoint (two round
    trips each, thousands in a reconnect storm). The snapshot's load runs outside the
    subscriber's savepoint: a plain read, which fails only when the database does, and then the
    frame's own writes fail with it."""

    def listens(tenant_id: int) -> bool:
        return bool(rules_of(tenant_id, kind))

    return listens


# --- Offline longer than N minutes ----------------------------------------------------------------


@subscriber(ChargePointDisconnected, isolated=True, listens=_has_rules(AlertKind.OFFLINE))
def charge_point_went_offline(event: ChargePointDisconnected) -> None:
    for rule in rules_of(event.tenant_id, AlertKind.OFFLINE):
        alert_raise(
            rule=rule,
            subject=charge_point_subject(event.charge_point_id),
            at=event.disconnected_at,
            charge_point_id=event.charge_point_id,
            identity=event.identity,
            detail=f"offline since {event.disconnected_at:%Y-%m-%d %H:%M:%S} UTC",
            pending_for=timedelta(minutes=rule.threshold_minutes),
        )


@subscriber(ChargePointConnected, isolated=True, listens=_has_rules(AlertKind.OFFLINE))
def charge_point_came_back(event: ChargePointConnected) -> None:
    # Also refreshes this process's snapshot of the tenant's rules, which the StatusNotification
    # hot path then reads without a query (rules_known).
    rules = rules_of(event.tenant_id, AlertKind.OFFLINE)
    alert_clear(
        rule_ids=[rule.id for rule in rules],
        subject=charge_point_subject(event.charge_point_id),
        at=event.connected_at,
        reason="reconnected",
        tenant_id=event.tenant_id,
    )


# --- Connector Faulted ----------------------------------------------------------------------------


def _faulted_rules_known(tenant_id: int) -> bool:
    return rules_known(tenant_id, AlertKind.CONNECTOR_FAULTED)


@subscriber(ConnectorStatusChanged, isolated=True, listens=_faulted_rules_known)
def connector_status_changed(event: ConnectorStatusChanged) -> None:
    rules = rules_of(event.tenant_id, AlertKind.CONNECTOR_FAULTED)
    subject = charge_point_subject(event.charge_point_id, "connector", event.connector_id)
    if event.status == FAULTED:
        vendor = f" ({event.vendor_error_code})" if event.vendor_error_code else ""
        for rule in rules:
            alert_raise(
                rule=rule,
                subject=subject,
                at=timezone.now(),
                charge_point_id=event.charge_point_id,
                identity=event.identity,
                detail=f"connector {event.connector_id}: {event.error_code}{vendor} {event.info}",
            )
    elif event.previous_status in (FAULTED, None):
        alert_clear(
            rule_ids=[rule.id for rule in rules],
            subject=subject,
            at=timezone.now(),
            reason=f"connector reports {event.status}",
            tenant_id=event.tenant_id,
        )


# --- Boot rejected --------------------------------------------------------------------------------


def _registration(tenant_id: int, charge_point_id: int, identity: str, status: str) -> None:
    rules = rules_of(tenant_id, AlertKind.BOOT_REJECTED)
    subject = charge_point_subject(charge_point_id, "registration")
    if status == REJECTED:
        for rule in rules:
            alert_raise(
                rule=rule,
                subject=subject,
                at=timezone.now(),
                charge_point_id=charge_point_id,
                identity=identity,
                detail="BootNotification answered Rejected",
            )
    else:
        alert_clear(
            rule_ids=[rule.id for rule in rules],
            subject=subject,
            at=timezone.now(),
            reason=f"registration {status}",
            tenant_id=tenant_id,
        )


@subscriber(ChargePointBooted, isolated=True, listens=_has_rules(AlertKind.BOOT_REJECTED))
def charge_point_booted(event: ChargePointBooted) -> None:
    _registration(event.tenant_id, event.charge_point_id, event.identity, event.registration_status)


@subscriber(ChargePointRegistrationChanged, isolated=True)
def registration_changed(event: ChargePointRegistrationChanged) -> None:
    if event.registration_status != REJECTED:  # a Rejected one waits for its next boot's answer
        _registration(
            event.tenant_id, event.charge_point_id, event.identity, event.registration_status
        )


# --- Commands -------------------------------------------------------------------------------------


@subscriber(CommandFailed, isolated=True)
def command_failed(event: CommandFailed) -> None:
    error = f" {event.error_code}" if event.error_code else ""
    for rule in rules_of(event.tenant_id, AlertKind.COMMAND_FAILED):
        if rule.watches_action(event.action):
            alert_raise(
                rule=rule,
                subject=charge_point_subject(event.charge_point_id, "command", event.action),
                at=event.completed_at or timezone.now(),
                charge_point_id=event.charge_point_id,
                identity=event.identity,
                detail=f"{event.action} #{event.command_id} {event.status}{error}",
            )


@subscriber(CommandCompleted, isolated=True)
def command_completed(event: CommandCompleted) -> None:
    rules = [
        rule
        for rule in rules_of(event.tenant_id, AlertKind.COMMAND_FAILED)
        if rule.watches_action(event.action)
    ]
    alert_clear(
        rule_ids=[rule.id for rule in rules],
        subject=charge_point_subject(event.charge_point_id, "command", event.action),
        at=event.completed_at or timezone.now(),
        reason=f"{event.action} #{event.command_id} answered",
        tenant_id=event.tenant_id,
    )


# --- Firmware and security ------------------------------------------------------------------------


def _firmware_rules_known(tenant_id: int) -> bool:
    return rules_known(tenant_id, AlertKind.FIRMWARE_FAILED)


@subscriber(FirmwareStatusChanged, isolated=True, listens=_firmware_rules_known)
def firmware_status_changed(event: FirmwareStatusChanged) -> None:
    rules = rules_of(event.tenant_id, AlertKind.FIRMWARE_FAILED)
    subject = charge_point_subject(event.charge_point_id, "firmware")
    if event.status in FIRMWARE_FAILURES:
        for rule in rules:
            alert_raise(
                rule=rule,
                subject=subject,
                at=timezone.now(),
                charge_point_id=event.charge_point_id,
                identity=event.identity,
                detail=f"campaign {event.firmware_update_id}: {event.status} {event.error}",
            )
    elif event.status in FIRMWARE_SUCCESSES:
        alert_clear(
            rule_ids=[rule.id for rule in rules],
            subject=subject,
            at=timezone.now(),
            reason=f"firmware {event.status}",
            tenant_id=event.tenant_id,
        )


@subscriber(SecurityEventReceived, isolated=True)
def security_event_received(event: SecurityEventReceived) -> None:
    for rule in rules_of(event.tenant_id, AlertKind.SECURITY_EVENT):
        if rule.watches_security_event(event.type):
            alert_raise(
                rule=rule,
                subject=charge_point_subject(event.charge_point_id, "security", event.type),
                at=timezone.now(),
                charge_point_id=event.charge_point_id,
                identity=event.identity,
                detail=f"{event.type} {event.tech_info}".strip(),
            )
