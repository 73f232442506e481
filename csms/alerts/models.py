"""Alert rules (per tenant) and the alerts they open."""

from django.db import models
from django.db.models import Q

from csms.tenancy.models import Tenant


class AlertKind(models.TextChoices):
    OFFLINE = "offline", "Charge point offline longer than N minutes"
    CONNECTOR_FAULTED = "connector_faulted", "Connector Faulted"
    BOOT_REJECTED = "boot_rejected", "Boot rejected"
    COMMAND_FAILED = "command_failed", "Command failed"
    FIRMWARE_FAILED = "firmware_failed", "Firmware job failed"
    SECURITY_EVENT = "security_event", "Security event of a critical type"


# The security events the OCPP 1.6 security whitepaper's list (appendix 1) marks critical (the
# charge point sends those at once rather than with its next batch): what a rule watches when it
# names no types itself.
CRITICAL_SECURITY_EVENTS = [
    "FirmwareUpdated",
    "SettingSystemTime",
    "StartupOfTheDevice",
    "ResetOrReboot",
    "SecurityLogWasCleared",
    "MemoryExhaustion",
    "TamperDetectionActivated",
]


class AlertRule(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="alert_rules")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=32, choices=AlertKind.choices)
    # offline: minutes away before an alert opens (a reconnect within it opens nothing).
    threshold_minutes = models.PositiveIntegerField(default=15)
    # command_failed: only these actions (empty: every action).
    command_actions = models.JSONField(default=list, blank=True)
    # security_event: these types (empty: CRITICAL_SECURITY_EVENTS).
    security_event_types = models.JSONField(default=list, blank=True)
    email_recipients = models.TextField(
        blank=True, help_text="Comma- or line-separated addresses; empty sends no e-mail."
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["tenant", "name"]
        indexes = [models.Index(fields=["tenant", "kind", "active"])]

    def __str__(self) -> str:
        return self.name

    @property
    def recipients(self) -> list[str]:
        parts = self.email_recipients.replace("\n", ",").split(",")
        return [address.strip() for address in parts if address.strip()]


class AlertState(models.TextChoices):
    PENDING = "pending"  # the condition holds, not yet long enough (offline rules)
    OPEN = "open"
    CLOSED = "closed"


class Alert(models.Model):
    """One occurrence of a rule's condition for one subject. Charge points are referred to by
    id and identity (plain values, as the events carry them): an alert outlives nothing it
    names, and the alerts app imports no app's models."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="alerts")
    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(max_length=32, choices=AlertKind.choices)
    # What the alert is about, e.g. "cp:12", "cp:12:connector:2", "cp:12:command:Reset".
    subject = models.CharField(max_length=200)
    charge_point_id = models.BigIntegerField(null=True, blank=True)
    identity = models.CharField(max_length=48, blank=True)
    state = models.CharField(max_length=10, choices=AlertState.choices)
    detail = models.CharField(max_length=500, blank=True)
    # How many events raised it while it was open (a repeat is counted, not a new alert).
    occurrences = models.PositiveIntegerField(default=1)
    raised_at = models.DateTimeField()
    # pending: when it opens unless the condition clears first.
    due_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    close_reason = models.CharField(max_length=200, blank=True)
    last_event_at = models.DateTimeField()
    # Notifications: set when the opening / closing was sent (a digest picks the unset ones).
    open_notified_at = models.DateTimeField(null=True, blank=True)
    close_notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-raised_at", "-id"]
        constraints = [
            # Debounce: at most one live alert per rule and subject, enforced by the database
            # (two processes raising the same condition at once meet here).
            models.UniqueConstraint(
                fields=["rule", "subject"],
                condition=Q(state__in=["pending", "open"]),
                name="uniq_live_alert_per_rule_subject",
            )
        ]
        indexes = [
            models.Index(fields=["tenant", "state", "-raised_at"]),
            models.Index(fields=["state", "due_at"]),
            models.Index(fields=["tenant", "subject", "state"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.identity or self.subject} ({self.state})"
