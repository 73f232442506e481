"""Charging sessions and the meter values reported for them."""

from django.db import models
from django.db.models.functions import Upper

from chargepoints.models import ChargePoint
from csms.tenancy.models import Tenant


class Transaction(models.Model):
    """A charging session. Its primary key *is* the OCPP transactionId.

    The database allocates it, which is safe under any concurrency and across processes; ids
    stay within OCPP's 32-bit integer for the first two billion sessions.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="transactions")
    charge_point = models.ForeignKey(
        ChargePoint, on_delete=models.CASCADE, related_name="transactions"
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

    @property
    def energy_wh(self) -> int | None:
        if self.meter_stop is None:
            return None
        return self.meter_stop - self.meter_start


class MeterValue(models.Model):
    """One sampledValue, with the specification's defaults filled in (OCPP 1.6 §7.45)."""

    charge_point = models.ForeignKey(
        ChargePoint, on_delete=models.CASCADE, related_name="meter_values"
    )
    transaction = models.ForeignKey(
        Transaction, on_delete=models.CASCADE, null=True, blank=True, related_name="meter_values"
    )
    connector_id = models.PositiveIntegerField()
    # What the charge point said, kept for reconciliation when it names no known transaction.
    reported_transaction_id = models.BigIntegerField(null=True, blank=True)
    timestamp = models.DateTimeField()
    value = models.TextField()  # verbatim: a number as text, or signed data
    context = models.CharField(max_length=30)
    format = models.CharField(max_length=20)
    measurand = models.CharField(max_length=50)
    phase = models.CharField(max_length=10, blank=True)
    location = models.CharField(max_length=10)
    unit = models.CharField(max_length=20)
    # Hash of the content: a retried MeterValues.req (new message id) inserts nothing twice.
    content_hash = models.CharField(max_length=40)
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
