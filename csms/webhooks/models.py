"""Webhook endpoints, the event outbox, and the delivery log.

An :class:`Event` row is written in the same database transaction as the change it describes,
with one :class:`Delivery` per endpoint that subscribes to it; Celery delivers after commit and
the outbox re-scan (beat) picks up whatever a dead worker or a lost task left behind.
"""

import uuid

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q

from csms.tenancy.models import Tenant


class WebhookEndpoint(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(max_length=2000)
    # ``whsec_<base64>`` (Standard Webhooks). Kept in clear: it is needed to sign; the API shows
    # it only in the answer that created the endpoint.
    secret = models.CharField(max_length=100, editable=False)
    # Event type names; empty: every type except the opt-in ones (csms.webhooks.event_types).
    event_types = models.JSONField(default=list, blank=True)
    active = models.BooleanField(default=True)
    description = models.CharField(max_length=200, blank=True)
    disabled_reason = models.CharField(max_length=255, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    # Failure accounting for automatic disabling: deliveries given up in a row, and the first
    # failed attempt since the last success.
    consecutive_failures = models.PositiveIntegerField(default=0, editable=False)
    failing_since = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["tenant", "id"]
        indexes = [models.Index(fields=["tenant", "active"])]

    def __str__(self) -> str:
        return self.url


class Event(models.Model):
    """The outbox row and the tenant's event log; ``id`` is the envelope's and ``webhook-id``."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="webhook_events")
    type = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    data = models.JSONField(encoder=DjangoJSONEncoder)
    # Deliveries of one charge point's events keep their order (see Delivery.charge_point_id).
    charge_point = models.ForeignKey(
        "chargepoints.ChargePoint",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "-created_at"]),
            models.Index(fields=["tenant", "type", "-created_at"]),
            models.Index(fields=["charge_point", "type", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"  # due at next_attempt_at (or waiting for an earlier event's delivery)
    DELIVERED = "delivered"  # the receiver answered 2xx
    FAILED = "failed"  # every attempt failed: given up
    CANCELLED = "cancelled"  # the endpoint was disabled or deactivated first


class Delivery(models.Model):
    """One event to one endpoint. A replay is a new delivery of the same event."""

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    # The ordering key (the event's charge point, copied so the check needs no join): a
    # delivery is not sent while an earlier pending one of the same endpoint and key exists.
    charge_point_id = models.BigIntegerField(null=True, blank=True)
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # A task was queued for it: the re-scan leaves it alone until then.
    queued_until = models.DateTimeField(null=True, blank=True)
    # An attempt is under way (claimed by a worker) until then.
    locked_until = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=255, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    replay = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "deliveries"
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="webhooks_delivery_due",
            ),
            models.Index(
                fields=["endpoint", "charge_point_id", "id"],
                condition=Q(status="pending"),
                name="webhooks_delivery_chain",
            ),
        ]

    def __str__(self) -> str:
        return f"delivery {self.pk} ({self.status})"


class DeliveryAttempt(models.Model):
    """The delivery log: one row per HTTP request made."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    attempt = models.PositiveSmallIntegerField()
    started_at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField()
    response_excerpt = models.TextField(blank=True)
    error = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["delivery", "attempt"]

    def __str__(self) -> str:
        outcome = self.status_code or self.error or "-"
        return f"attempt {self.attempt} of delivery {self.delivery_id}: {outcome}"

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
