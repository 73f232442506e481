"""The event types integrators subscribe to (the ``type`` of the envelope).

Names are ``<subject>.<what happened>``, stable once published: an integrator's code matches on
them. Each comes from a domain event of the event bus (csms.events, turned into webhooks by
``csms.webhooks.receivers``), except ``endpoint.disabled`` and ``ping``, the webhooks' own.
"""

from django.db import models


class EventType(models.TextChoices):
    CHARGE_POINT_CONNECTED = "charge_point.connected"
    CHARGE_POINT_DISCONNECTED = "charge_point.disconnected"
    CHARGE_POINT_BOOTED = "charge_point.booted"
    CHARGE_POINT_REGISTRATION_CHANGED = "charge_point.registration_changed"
    CONNECTOR_STATUS_CHANGED = "connector.status_changed"
    TRANSACTION_STARTED = "transaction.started"
    TRANSACTION_STOPPED = "transaction.stopped"
    # A session the server closed, then stopped by its charger: one session, the charger's figures
    TRANSACTION_RECONCILED = "transaction.reconciled"
    # Opt-in and sampled (at most one per transaction per WEBHOOKS_METER_VALUES_INTERVAL_SECONDS)
    TRANSACTION_METER_VALUES = "transaction.meter_values"
    AUTHORIZATION_DENIED = "authorization.denied"
    COMMAND_COMPLETED = "command.completed"
    COMMAND_FAILED = "command.failed"
    COMMAND_TIMED_OUT = "command.timed_out"
    RESERVATION_CHANGED = "reservation.changed"
    # A SetChargingProfile still Rejected after its last retry (smart charging).
    CHARGING_PROFILE_REJECTED = "charging_profile.rejected"
    FIRMWARE_JOB_STATUS_CHANGED = "firmware.job_status_changed"
    DIAGNOSTICS_UPLOADED = "diagnostics.uploaded"
    DATA_TRANSFER_RECEIVED = "data_transfer.received"
    SECURITY_EVENT_RECEIVED = "security_event.received"
    # The Central System's own security-log rows (refused handshakes, lockouts, rotations,
    # certificates): chargers' SecurityEventNotifications stay security_event.received.
    SECURITY_EVENT_RECORDED = "security_event.recorded"
    ENDPOINT_DISABLED = "endpoint.disabled"
    # Alert rules (csms.alerts): an alert opened, or closed when its condition cleared.
    ALERT_OPENED = "alert.opened"
    ALERT_CLOSED = "alert.closed"
    # Sent by POST /api/v1/webhooks/{id}/test/ to that endpoint only.
    PING = "ping"


# Delivered only to endpoints that name them: an "all events" subscription leaves them out.
OPT_IN_TYPES = frozenset({EventType.TRANSACTION_METER_VALUES})
# Never delivered through subscriptions (a ping goes to the endpoint it tests).
UNSUBSCRIBABLE_TYPES = frozenset({EventType.PING})
SUBSCRIBABLE_TYPES = tuple(t for t in EventType if t not in UNSUBSCRIBABLE_TYPES)
SUBSCRIBABLE_CHOICES = [(t.value, t.label) for t in SUBSCRIBABLE_TYPES]


def subscribes(event_types: list[str], event_type: str) -> bool:
    """Whether an endpoint subscribed to ``event_types`` (empty: all) receives ``event_type``."""
    if event_type in UNSUBSCRIBABLE_TYPES:
        return False
    if not event_types:
        return event_type not in OPT_IN_TYPES
    return event_type in event_types
