"""The message log: every OCPP-J frame in and out."""

from django.db import models

from chargepoints.models.charge_points import ChargePoint


class MessageDirection(models.TextChoices):
    IN = "in", "Charge point → Central System"
    OUT = "out", "Central System → charge point"


class OcppMessage(models.Model):
    """The message log: every frame in and out, verbatim, kept for a retention period."""

    # No index of its own: the composite index below starts with it (one index less per row
    # written on the hot path, issue 17).
    charge_point = models.ForeignKey(
        ChargePoint, on_delete=models.CASCADE, related_name="messages", db_index=False
    )
    direction = models.CharField(max_length=3, choices=MessageDirection.choices)
    message_type = models.PositiveSmallIntegerField(null=True)  # 2 CALL, 3 RESULT, 4 ERROR
    message_id = models.CharField(max_length=64, blank=True)
    action = models.CharField(max_length=64, blank=True)
    frame = models.TextField()
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["charge_point", "-created_at"])]
        verbose_name = "OCPP message"

    def __str__(self) -> str:
        return f"{self.direction} {self.action or self.message_type} {self.message_id}"
