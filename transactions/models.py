"""Charging sessions and the meter values reported for them."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Upper

from chargepoints.models import ChargePoint
from csms.tenancy.models import Tenant


class EnergySource(models.TextChoices):
    """Where ``energy_wh`` comes from (``transactions.energy``)."""

    METER_STOP = "meter_stop", "meterStop - meterStart"
    REGISTER = "register", "Energy.Active.Import.Register readings"
    NONE = "none", "No usable evidence"


class StoppedBy(models.TextChoices):
    CHARGE_POINT = "charge_point", "The charge point (StopTransaction)"
    SERVER = "server", "The server (closed without the charger's stop)"


class Transaction(models.Model):
    """A charging session. Its primary key *is* the OCPP transactionId.

    The database allocates it, which is safe under any concurrency and across processes; ids
    stay within OCPP's 32-bit integer for the first two billion sessions.
    """

    # Neither has an index of its own: (tenant, -started_at) and the unique start content start
    # with them (an index less per row written and per stop's update, issue 17).
    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="transactions", db_index=False
    )
    charge_point = models.ForeignKey(
        ChargePoint, on_delete=models.CASCADE, related_name="transactions", db_index=False
    )
    connector_id = models.PositiveIntegerField()
    id_tag = models.CharField(max_length=20)
    # The idTagInfo.status we answered StartTransaction with (Accepted, Invalid, ...).
    id_tag_status = models.CharField(max_length=20)
    parent_id_tag = models.CharField(max_length=20, blank=True)
    reservation_id = models.IntegerField(null=True, blank=True)
    meter_start = models.BigIntegerField()
    started_at = models.DateTimeField()
    meter_stop = models.BigIntegerField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    stop_reason = models.CharField(max_length=30, blank=True)
    stop_id_tag = models.CharField(max_length=20, blank=True)
    # What a bill rests on (issue 15 §3): the energy from the best evidence, and which one.
    energy_wh = models.BigIntegerField(null=True, blank=True)
    energy_source = models.CharField(max_length=16, choices=EnergySource.choices, blank=True)
    # Who ended the session: its charge point (StopTransaction), or the server (staff, a tenant
    # through the API, a closing rule, a new start on the connector); a server close is later
    # reconciled with the charger's own stop if one comes.
    stopped_by = models.CharField(max_length=16, choices=StoppedBy.choices, blank=True)
    closed_by = models.CharField(max_length=150, blank=True)
    close_reason = models.CharField(max_length=200, blank=True)
    # Sanity findings (OCPP 1.6 §4.7/§4.8: answered normally, flagged for humans).
    flags = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            # A retried StartTransaction (new message id, same content) finds its first row.
            models.UniqueConstraint(
                fields=["charge_point", "connector_id", "id_tag", "started_at", "meter_start"],
                name="uniq_start_transaction_content",
            ),
            # At most one active transaction per connector.
            models.UniqueConstraint(
                fields=["charge_point", "connector_id"],
                condition=models.Q(stopped_at__isnull=True),
                name="uniq_active_transaction_per_connector",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "-started_at"]),
            models.Index(fields=["tenant", "id_tag", "stopped_at"]),
            # Every StartTransaction counts the idTag's active sessions, case-insensitively
            # (CiString20): without this the count scans all of the tenant's transactions.
            models.Index(
                "tenant",
                Upper("id_tag"),
                condition=models.Q(stopped_at__isnull=True),
                name="tx_active_id_tag_ci",
            ),
        ]

    def __str__(self) -> str:
        return str(self.pk)

    @property
    def active(self) -> bool:
        return self.stopped_at is None


class MeterValue(models.Model):
    """One sampledValue as the charge point sent it: an optional field it left out is NULL (OCPP
    1.6 §7.45 gives most of them a default, which ``transactions.energy`` applies when it reads
    them; ``phase`` has none, and ``""`` is no valid value of any)."""

    # Neither has an index of its own: the unique content and (transaction, timestamp) start
    # with them (four sampled values a frame: two index entries less each, issue 17).
    charge_point = models.ForeignKey(
        ChargePoint, on_delete=models.CASCADE, related_name="meter_values", db_index=False
    )
    transaction = models.ForeignKey(
        Transaction,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="meter_values",
        db_index=False,
    )
    connector_id = models.PositiveIntegerField()
    # What the charge point said, kept for reconciliation when it names no known transaction.
    reported_transaction_id = models.BigIntegerField(null=True, blank=True)
    timestamp = models.DateTimeField()
    value = models.TextField()  # verbatim: a number as text, or signed data
    # NULL when left out, not "": the API serves what was sent (DJ001's "" would read as a
    # value the charge point never gave).
    context = models.CharField(max_length=30, null=True, blank=True)  # noqa: DJ001
    format = models.CharField(max_length=20, null=True, blank=True)  # noqa: DJ001
    measurand = models.CharField(max_length=50, null=True, blank=True)  # noqa: DJ001
    phase = models.CharField(max_length=10, null=True, blank=True)  # noqa: DJ001
    location = models.CharField(max_length=10, null=True, blank=True)  # noqa: DJ001
    unit = models.CharField(max_length=20, null=True, blank=True)  # noqa: DJ001
    # Hash of the content: a retried MeterValues.req (new message id) inserts nothing twice.
    content_hash = models.CharField(max_length=40)
    # Arrived for a session already stopped: kept, but not part of its energy (issue 15 §3).
    after_stop = models.BooleanField(default=False)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["timestamp", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["charge_point", "content_hash"], name="uniq_meter_value_content"
            )
        ]
        indexes = [models.Index(fields=["transaction", "timestamp"])]

    def __str__(self) -> str:
        return f"{self.measurand} {self.value} {self.unit} @ {self.timestamp:%Y-%m-%d %H:%M:%S}"


class UnmatchedTransactionMessage(models.Model):
    """A Stop/MeterValues naming a transaction we do not know: answered, kept for reconciliation."""

    charge_point = models.ForeignKey(
        ChargePoint, on_delete=models.CASCADE, related_name="unmatched_transaction_messages"
    )
    action = models.CharField(max_length=30)
    reported_transaction_id = models.BigIntegerField(null=True, blank=True)
    payload = models.JSONField()
    reason = models.CharField(max_length=200)
    content_hash = models.CharField(max_length=40)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["charge_point", "content_hash"], name="uniq_unmatched_content"
            )
        ]

    def __str__(self) -> str:
        return f"{self.action} for unknown transaction {self.reported_transaction_id}"


class SessionClosingRules(models.Model):
    """A tenant's rules for closing sessions whose StopTransaction never came (issue 15 §2).

    Each is off (empty) by default: a rule could close a session that is really charging (a
    charger that reports Available while it charges, a long offline queue), and the tenant
    knows its chargers. A new StartTransaction on the connector always closes the old session.
    """

    tenant = models.OneToOneField(
        Tenant, on_delete=models.CASCADE, related_name="session_closing_rules"
    )
    available_minutes = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(60 * 24 * 30)],
        help_text="Close a session when its connector has reported Available (not Finishing "
        "or SuspendedEV) for longer than this many minutes. Empty: off.",
    )
    silent_hours = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 90)],
        help_text="Close a session when its charge point has sent no MeterValues for it and "
        "has not been connected for longer than this many hours. Empty: off.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "session closing rules"

    def __str__(self) -> str:
        return f"session closing rules of {self.tenant}"

    @property
    def any_on(self) -> bool:
        return self.available_minutes is not None or self.silent_hours is not None
