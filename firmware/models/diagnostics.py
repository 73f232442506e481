"""Diagnostics: GetDiagnostics requests (OCPP 1.6 §5.8), the files received, their schedules."""

import uuid

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django_celery_beat.models import PeriodicTask

from chargepoints.models import ChargePoint, Command
from csms.tenancy.models import Tenant

INT32_MAX = 2**31 - 1
OCPP_INTEGER = [MinValueValidator(0), MaxValueValidator(INT32_MAX)]


def diagnostics_file_path(instance: "DiagnosticsRequest", filename: str) -> str:
    # A directory of its own per upload: the file keeps the name the charge point gave it
    # (the storage never has to rename it to avoid a clash).
    return f"diagnostics/{instance.tenant_id}/{instance.pk}/{uuid.uuid4().hex[:12]}/{filename}"


class DiagnosticsSchedule(models.Model):
    """GetDiagnostics for a group of charge points, on a django-celery-beat schedule (the
    PeriodicTask holds the timing, staff edit it in the admin)."""

    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="diagnostics_schedules"
    )
    name = models.CharField(max_length=150)
    charge_points = models.ManyToManyField(ChargePoint, related_name="diagnostics_schedules")
    window_hours = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="startTime = this many hours before the run; empty = everything the charge "
        "point has.",
    )
    location = models.CharField(
        max_length=512,
        blank=True,
        help_text="External FTP/HTTP upload location; empty = this platform's upload receiver.",
    )
    max_attempts = models.PositiveSmallIntegerField(default=2, validators=[MinValueValidator(1)])
    periodic_task = models.OneToOneField(
        PeriodicTask, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["tenant", "name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="uniq_diag_schedule_name")
        ]

    def __str__(self) -> str:
        return self.name


class DiagnosticsRequestStatus(models.TextChoices):
    PENDING = "pending"
    DISPATCHED = "dispatched", "dispatched (GetDiagnostics queued or sent)"
    ACCEPTED = "accepted", "accepted (the charge point named its file)"
    NO_FILE = "no_file", "nothing to upload (no fileName in the answer)"
    # DiagnosticsStatus (OCPP 1.6 §7.24)
    UPLOADING = "uploading"
    UPLOADED = "uploaded", "uploaded (as the charge point reports)"
    UPLOAD_FAILED = "upload_failed"
    # Ours
    RECEIVED = "received", "received (the upload receiver stored the file)"
    FAILED = "failed", "failed (refused, undelivered or not answered)"
    TIMED_OUT = "timed_out"
    RETRY_PENDING = "retry_pending", "failed, waiting to be sent again"
    CANCELLED = "cancelled"


class LogType(models.TextChoices):
    # "": GetDiagnostics (OCPP 1.6 §5.8); the others GetLog of the security extension
    # (whitepaper §5), with LogStatusNotification instead of DiagnosticsStatusNotification.
    DIAGNOSTICS = "", "GetDiagnostics"
    DIAGNOSTICS_LOG = "DiagnosticsLog", "GetLog: diagnostics log"
    SECURITY_LOG = "SecurityLog", "GetLog: security log"


class DiagnosticsRequest(models.Model):
    """One GetDiagnostics (or GetLog) for one charge point, followed until the file is there."""

    IN_FLIGHT = frozenset(
        {
            DiagnosticsRequestStatus.DISPATCHED,
            DiagnosticsRequestStatus.ACCEPTED,
            DiagnosticsRequestStatus.UPLOADING,
        }
    )
    UNFINISHED = IN_FLIGHT | {
        DiagnosticsRequestStatus.PENDING,
        DiagnosticsRequestStatus.RETRY_PENDING,
    }

    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="diagnostics_requests"
    )
    charge_point = models.ForeignKey(
        ChargePoint, on_delete=models.CASCADE, related_name="diagnostics_requests"
    )
    schedule = models.ForeignKey(
        DiagnosticsSchedule,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="requests",
    )
    log_type = models.CharField(max_length=16, choices=LogType.choices, blank=True, default="")
    status = models.CharField(
        max_length=20,
        choices=DiagnosticsRequestStatus.choices,
        default=DiagnosticsRequestStatus.PENDING,
    )
    # GetDiagnostics.req fields
    start_time = models.DateTimeField(null=True, blank=True)
    stop_time = models.DateTimeField(null=True, blank=True)
    retries = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=OCPP_INTEGER,
        help_text="Sent to the charge point: how often it retries the upload itself.",
    )
    retry_interval = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=OCPP_INTEGER,
        help_text="Sent to the charge point: seconds between its own upload retries.",
    )
    location = models.CharField(
        max_length=512,
        blank=True,
        help_text="External FTP/HTTP upload location; empty = this platform's upload receiver.",
    )
    # The upload receiver's credential: the unguessable part of the URL sent to the charger.
    upload_token = models.CharField(max_length=64, unique=True, null=True, blank=True)
    # The Central System's own retries
    max_attempts = models.PositiveSmallIntegerField(default=2, validators=[MinValueValidator(1)])
    attempt_interval = models.PositiveIntegerField(
        default=300, help_text="Seconds between a failure and the next attempt."
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    command = models.ForeignKey(
        Command, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    file_name = models.CharField(
        max_length=255, blank=True, help_text="GetDiagnostics.conf fileName."
    )
    file = models.FileField(upload_to=diagnostics_file_path, max_length=500, blank=True)
    file_size = models.PositiveBigIntegerField(null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    last_status = models.CharField(
        max_length=30, blank=True, help_text="Last DiagnosticsStatusNotification status."
    )
    last_error = models.CharField(max_length=255, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    last_heard_at = models.DateTimeField(null=True, blank=True)
    triggered_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    requested_by_token = models.ForeignKey(
        "tenancy.ApiToken", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    requested_by_user = models.ForeignKey(
        "auth.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "-created_at"]),
            models.Index(fields=["charge_point", "status"]),
            models.Index(fields=["status", "next_attempt_at"]),
        ]

    def __str__(self) -> str:
        return f"Diagnostics #{self.pk} of {self.charge_point_id}: {self.status}"

    @property
    def uses_upload_receiver(self) -> bool:
        return not self.location

    @property
    def action(self) -> str:
        return "GetLog" if self.log_type else "GetDiagnostics"
