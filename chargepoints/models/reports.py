"""What charge points report beyond their status: security events, vendor data, CSRs."""

from django.db import models
from django.db.models import Q

from chargepoints.models.charge_points import ChargePoint
from csms.tenancy.models import Tenant


class SecurityEvent(models.Model):
    """SecurityEventNotification (security extension) and our own refused handshakes."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="security_events")
    charge_point = models.ForeignKey(
        ChargePoint, on_delete=models.CASCADE, null=True, blank=True, related_name="security_events"
    )
    identity = models.CharField(max_length=48)
    type = models.CharField(max_length=50)
    tech_info = models.CharField(max_length=255, blank=True)
    timestamp = models.DateTimeField()
    reported_by_charge_point = models.BooleanField(default=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-timestamp", "-id"]
        constraints = [
            # SecurityEventNotification is a transaction-like message: retried with new ids.
            models.UniqueConstraint(
                fields=["charge_point", "type", "timestamp", "tech_info"],
                condition=Q(reported_by_charge_point=True),
                name="uniq_reported_security_event",
            )
        ]

    def __str__(self) -> str:
        return f"{self.identity}: {self.type}"


class DataTransferMessage(models.Model):
    charge_point = models.ForeignKey(
        ChargePoint, on_delete=models.CASCADE, related_name="data_transfers"
    )
    vendor_id = models.CharField(max_length=255)
    message_id = models.CharField(max_length=50, blank=True)
    data = models.TextField(blank=True)
    answer_status = models.CharField(max_length=20)
    answer_data = models.TextField(blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.vendor_id}/{self.message_id or '-'}: {self.answer_status}"


class CertificateSigningRequest(models.Model):
    """SignCertificate.req (security extension): kept for staff to sign out of band."""

    charge_point = models.ForeignKey(
        ChargePoint, on_delete=models.CASCADE, related_name="certificate_requests"
    )
    csr = models.TextField()
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"CSR of charge point {self.charge_point_id} at {self.received_at:%Y-%m-%d %H:%M}"
