"""The command outbox: Central-System-initiated CALLs and what became of them."""

from django.db import models

from chargepoints.models.charge_points import ChargePoint
from csms.tenancy.models import Tenant


class CommandStatus(models.TextChoices):
    QUEUED = "queued"
    SENT = "sent"
    COMPLETED = "completed"  # the charge point answered with a CALLRESULT
    FAILED = "failed"  # a CALLERROR, or the socket closed while waiting
    TIMEOUT = "timeout"  # sent, no answer in time; never re-sent automatically
    EXPIRED = "expired"  # never sent: the charge point did not come back in time


class Command(models.Model):
    """The outbox: a Central-System-initiated CALL. The row is the truth; a channel-layer
    message only wakes the connection that holds the charge point's socket."""

    FINAL_STATUSES = frozenset(
        {
            CommandStatus.COMPLETED,
            CommandStatus.FAILED,
            CommandStatus.TIMEOUT,
            CommandStatus.EXPIRED,
        }
    )

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="commands")
    charge_point = models.ForeignKey(ChargePoint, on_delete=models.CASCADE, related_name="commands")
    action = models.CharField(max_length=64)
    # What people and logs may see: a secret in it (a new AuthorizationKey) is masked, and the
    # payload as sent waits sealed in ``sealed_payload`` (csms.secrets_at_rest) until the
    # command ends, when it is dropped.
    payload = models.JSONField(default=dict)
    sealed_payload = models.TextField(blank=True, editable=False)
    status = models.CharField(
        max_length=16, choices=CommandStatus.choices, default=CommandStatus.QUEUED
    )
    message_id = models.CharField(max_length=36, blank=True)
    response = models.JSONField(null=True, blank=True)
    error_code = models.CharField(max_length=50, blank=True)
    error_description = models.TextField(blank=True)
    error_details = models.JSONField(null=True, blank=True)
    # Who asked: a staff user, an API token, or a scheduled job (by name).
    requested_by_user = models.ForeignKey(
        "auth.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    requested_by_token = models.ForeignKey(
        "tenancy.ApiToken", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    requested_by_job = models.CharField(max_length=100, blank=True)
    # The run of a job that queued it (its Celery task id): a job run again after its worker
    # died finds the command it made instead of queueing a second one (issue 16 §3).
    job_key = models.CharField(max_length=64, blank=True, default="")
    # Sent although a check that an operator may overrule refused it (a ChangeConfiguration
    # with force: true), at the word of requested_by.
    forced = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["charge_point", "status", "id"]),
            models.Index(fields=["status", "expires_at"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["job_key"], condition=~models.Q(job_key=""), name="command_job_key_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action} → {self.charge_point_id} ({self.status})"

    @property
    def finished(self) -> bool:
        return self.status in self.FINAL_STATUSES

    @property
    def requested_by(self) -> str:
        if self.requested_by_user_id:
            return f"user:{self.requested_by_user_id}"
        if self.requested_by_token_id:
            return f"token:{self.requested_by_token_id}"
        return f"job:{self.requested_by_job}" if self.requested_by_job else ""
