"""Reservations (OCPP 1.6 §5.13) and the per-tenant reservationId counter."""

from django.db import models

from chargepoints.models.charge_points import ChargePoint
from chargepoints.models.commands import Command
from csms.tenancy.models import Tenant


class ReservationSequence(models.Model):
    """The last OCPP reservationId a tenant allocated. A counter row: ``UPDATE … + 1`` locks it
    until commit, so concurrent reservations get distinct ids without retrying."""

    tenant = models.OneToOneField(
        Tenant, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    last_value = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"reservation ids of tenant {self.tenant_id}: {self.last_value}"


class ReservationStatus(models.TextChoices):
    REQUESTED = "requested"
    # ReserveNow.conf (OCPP 1.6 §7.38 ReservationStatus)
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    FAULTED = "faulted"
    OCCUPIED = "occupied"
    UNAVAILABLE = "unavailable"
    # How an accepted reservation ends
    USED = "used"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class Reservation(models.Model):
    ACTIVE_STATUSES = (ReservationStatus.REQUESTED, ReservationStatus.ACCEPTED)

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="reservations")
    charge_point = models.ForeignKey(
        ChargePoint, on_delete=models.CASCADE, related_name="reservations"
    )
    connector_id = models.PositiveIntegerField(help_text="0 = any connector")
    id_tag = models.CharField(max_length=20)
    parent_id_tag = models.CharField(max_length=20, blank=True)
    expiry_date = models.DateTimeField()
    # OCPP reservationId: allocated by us, unique per tenant.
    reservation_id = models.PositiveIntegerField()
    status = models.CharField(
        max_length=16, choices=ReservationStatus.choices, default=ReservationStatus.REQUESTED
    )
    reserve_command = models.ForeignKey(
        Command, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    cancel_command = models.ForeignKey(
        Command, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    transaction = models.ForeignKey(
        "transactions.Transaction",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "reservation_id"], name="uniq_reservation_id")
        ]
        indexes = [
            models.Index(fields=["status", "expiry_date"]),
            models.Index(fields=["charge_point", "status"]),
        ]

    def __str__(self) -> str:
        return f"reservation {self.reservation_id} ({self.status})"

    @property
    def active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES
