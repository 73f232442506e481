"""What charge points report about firmware, diagnostics and logs."""

from django.db import models

from chargepoints.models import ChargePoint


class StatusReportKind(models.TextChoices):
    FIRMWARE = "firmware", "FirmwareStatusNotification"
    DIAGNOSTICS = "diagnostics", "DiagnosticsStatusNotification"
    SIGNED_FIRMWARE = "signed_firmware", "SignedFirmwareStatusNotification"
    LOG = "log", "LogStatusNotification"


class StatusReport(models.Model):
    """Every firmware/diagnostics/log status notification a charge point sent, in order."""

    charge_point = models.ForeignKey(
        ChargePoint, on_delete=models.CASCADE, related_name="status_reports"
    )
    kind = models.CharField(max_length=20, choices=StatusReportKind.choices)
    status = models.CharField(max_length=40)
    request_id = models.IntegerField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["charge_point", "kind", "-received_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.status}"
