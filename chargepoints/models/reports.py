"""What charge points report beyond their status: security events, vendor data, CSRs."""

from django.db import models
from django.db.models import Q

from chargepoints.models.charge_points import ChargePoint
from csms.tenancy.models import Tenant


class SecurityEvent(models.Model):
    """The security log (issue 19 §4): SecurityEventNotifications from chargers and what the
    Central System itself saw (refused handshakes and why, lockouts, rotated passwords,
    certificates issued, installed, deleted or expiring)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="security_events")
    charge_point = models.ForeignKey(
        ChargePoint, on_delete=models.CASCADE, null=True, blank=True, related_name="security_events"
    )
    identity = models.CharField(max_length=48)
    type = models.CharField(max_length=50)
    tech_info = models.CharField(max_length=255, blank=True)
    timestamp = models.DateTimeField()
    reported_by_charge_point = models.BooleanField(default=True)
    # Whitepaper §A.1 marks some event types critical (csms.security_log.CRITICAL_EVENT_TYPES).
    critical = models.BooleanField(default=False)
    # Where a refused handshake came from (the client address daphne reports).
    source_address = models.CharField(max_length=64, blank=True)
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
        indexes = [
            models.Index(fields=["tenant", "-timestamp"], name="security_event_tenant_time"),
            models.Index(fields=["timestamp"], name="security_event_time"),
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


class CertificateSigningRequestStatus(models.TextChoices):
    SIGNED = "signed"  # signed by the tenant's Charge Point CA, CertificateSigned queued
    REFUSED = "refused"  # the CSR failed its checks (``problems``): answered Rejected
    EXTERNAL = "external"  # handed to an external CA (CERTIFICATE_SIGNER), which answers later


class CertificateSigningRequest(models.Model):
    """SignCertificate.req (security extension) and what became of it."""

    charge_point = models.ForeignKey(
        ChargePoint, on_delete=models.CASCADE, related_name="certificate_requests"
    )
    csr = models.TextField()
    status = models.CharField(
        max_length=16, choices=CertificateSigningRequestStatus.choices, blank=True
    )
    problems = models.TextField(blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"CSR of charge point {self.charge_point_id} at {self.received_at:%Y-%m-%d %H:%M}"
