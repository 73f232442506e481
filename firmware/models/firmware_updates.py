"""Firmware campaigns (UpdateFirmware rolled out in batches) and their per-charge-point jobs."""

from datetime import datetime, timedelta

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from chargepoints.models import ChargePoint, Command
from csms.tenancy.models import Tenant

INT32_MAX = 2**31 - 1


def default_firmware_quiet_seconds() -> int:
    return settings.FIRMWARE_QUIET_SECONDS


def default_firmware_timeout_seconds() -> int:
    return settings.FIRMWARE_TIMEOUT_SECONDS


def default_firmware_window_end() -> datetime:
    return timezone.now() + timedelta(days=settings.FIRMWARE_WINDOW_DAYS)


def _ocpp_seconds(*, minimum: int = 0) -> list:
    return [MinValueValidator(minimum), MaxValueValidator(INT32_MAX)]


class FirmwareUpdateStatus(models.TextChoices):
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped", "stopped (failure rate above the threshold)"
    CANCELLED = "cancelled"
    COMPLETED = "completed"


class FirmwareUpdate(models.Model):
    """A firmware campaign: UpdateFirmware (OCPP 1.6 §5.19) rolled out to charge points in
    batches, each charge point's progress kept in a :class:`FirmwareJob`."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="firmware_updates")
    name = models.CharField(max_length=200, blank=True)
    location = models.CharField(max_length=512, help_text="URI the charge points download from.")
    firmware_version = models.CharField(
        max_length=50,
        help_text="The version a charge point reports in BootNotification once "
        "it runs the new firmware: its job is then verified.",
    )
    # Signed firmware (whitepaper §4): SignedUpdateFirmware with the certificate that signed
    # the image and the signature, instead of UpdateFirmware; the charger verifies both.
    signed = models.BooleanField(default=False)
    signing_certificate = models.TextField(
        blank=True, help_text="PEM of the firmware signing certificate (signed campaigns)."
    )
    signature = models.TextField(
        blank=True, help_text="Base64 signature of the firmware image (signed campaigns)."
    )
    # How the targets were chosen (the jobs are the resolved list).
    filter_vendor = models.CharField(max_length=20, blank=True)
    filter_model = models.CharField(max_length=20, blank=True)
    filter_firmware_version = models.CharField(max_length=50, blank=True)
    status = models.CharField(
        max_length=16, choices=FirmwareUpdateStatus.choices, default=FirmwareUpdateStatus.RUNNING
    )
    # UpdateFirmware.req fields, sent as they are; empty = now (at sending) / the charger's own.
    retrieve_date = models.DateTimeField(null=True, blank=True)
    retries = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=_ocpp_seconds(),
        help_text="Sent to the charge point: how often it retries the download itself.",
    )
    retry_interval = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=_ocpp_seconds(),
        help_text="Sent to the charge point: seconds between its own download retries.",
    )
    # The Central System's own retries of a failed job.
    max_attempts = models.PositiveSmallIntegerField(
        default=2,
        validators=[MinValueValidator(1)],
        help_text="UpdateFirmware sent at most "
        "this often per charge point: a failed job (DownloadFailed, InstallationFailed, "
        "refused, undelivered, timed out) is sent again until then.",
    )
    attempt_interval = models.PositiveIntegerField(
        default=600, help_text="Seconds between a failure and the next attempt."
    )
    # Rollout controls
    batch_size = models.PositiveIntegerField(default=10, validators=[MinValueValidator(1)])
    max_in_flight = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="At most this many charge points updating at once; empty = the batch size.",
    )
    batch_pause = models.PositiveIntegerField(
        default=0, help_text="Seconds to wait after a batch finished before the next starts."
    )
    failure_threshold = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MaxValueValidator(100)],
        help_text="Percent. When a batch finishes and more than this share of the finished jobs "
        "failed, the campaign stops (resume starts the next batch). Empty = never stop.",
    )
    starts_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(
        default=default_firmware_window_end,
        help_text="End of the campaign window: nothing is "
        "sent after it, and an offline charge point gets its update only if it returns before.",
    )
    quiet_after = models.PositiveIntegerField(
        default=default_firmware_quiet_seconds,
        validators=[MinValueValidator(1)],
        help_text="Seconds without news before the job's status is asked for (TriggerMessage).",
    )
    status_timeout = models.PositiveIntegerField(
        default=default_firmware_timeout_seconds,
        validators=[MinValueValidator(1)],
        help_text="Seconds without news after which a job ends timed_out.",
    )
    current_batch = models.PositiveIntegerField(default=1)
    batch_finished_at = models.DateTimeField(null=True, blank=True)
    created_by_token = models.ForeignKey(
        "tenancy.ApiToken", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_by_user = models.ForeignKey(
        "auth.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "status"])]

    def __str__(self) -> str:
        return self.name or f"Firmware {self.firmware_version} (#{self.pk})"

    @property
    def in_flight_limit(self) -> int:
        return self.max_in_flight or self.batch_size


class FirmwareJobStatus(models.TextChoices):
    PENDING = "pending"
    DISPATCHED = "dispatched", "dispatched (UpdateFirmware queued or sent)"
    ACCEPTED = "accepted", "accepted by the charge point"
    # FirmwareStatus (OCPP 1.6 §7.25)
    DOWNLOADING = "downloading"
    DOWNLOADED = "downloaded"
    INSTALLING = "installing"
    INSTALLED = "installed"
    DOWNLOAD_FAILED = "download_failed"
    INSTALLATION_FAILED = "installation_failed"
    # FirmwareStatusEnumType of SignedFirmwareStatusNotification (whitepaper §4.2)
    SIGNATURE_VERIFIED = "signature_verified"
    INVALID_SIGNATURE = "invalid_signature"
    INVALID_CERTIFICATE = "invalid_certificate", "signing certificate refused by the charger"
    # Ours
    VERIFIED = "verified", "verified (booted with the new version)"
    VERSION_MISMATCH = "version_mismatch", "installed, but booted with another version"
    FAILED = "failed", "failed (refused, undelivered or not answered)"
    TIMED_OUT = "timed_out"
    RETRY_PENDING = "retry_pending", "failed, waiting to be sent again"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


class FirmwareJob(models.Model):
    """One charge point's part of a campaign."""

    # Waiting for the charge point: TriggerMessage when quiet, timed_out when silent too long.
    IN_FLIGHT = frozenset(
        {
            FirmwareJobStatus.DISPATCHED,
            FirmwareJobStatus.ACCEPTED,
            FirmwareJobStatus.DOWNLOADING,
            FirmwareJobStatus.DOWNLOADED,
            FirmwareJobStatus.SIGNATURE_VERIFIED,
            FirmwareJobStatus.INSTALLING,
            FirmwareJobStatus.INSTALLED,
        }
    )
    FAILURES = frozenset(
        {
            FirmwareJobStatus.DOWNLOAD_FAILED,
            FirmwareJobStatus.INSTALLATION_FAILED,
            FirmwareJobStatus.INVALID_SIGNATURE,
            FirmwareJobStatus.INVALID_CERTIFICATE,
            FirmwareJobStatus.VERSION_MISMATCH,
            FirmwareJobStatus.FAILED,
            FirmwareJobStatus.TIMED_OUT,
        }
    )
    UNFINISHED = IN_FLIGHT | {FirmwareJobStatus.PENDING, FirmwareJobStatus.RETRY_PENDING}

    campaign = models.ForeignKey(FirmwareUpdate, on_delete=models.CASCADE, related_name="jobs")
    charge_point = models.ForeignKey(
        ChargePoint, on_delete=models.CASCADE, related_name="firmware_jobs"
    )
    batch = models.PositiveIntegerField()
    status = models.CharField(
        max_length=20, choices=FirmwareJobStatus.choices, default=FirmwareJobStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    command = models.ForeignKey(
        Command, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    last_status = models.CharField(
        max_length=30, blank=True, help_text="Last FirmwareStatusNotification status."
    )
    last_error = models.CharField(max_length=255, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    last_heard_at = models.DateTimeField(null=True, blank=True)
    triggered_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["campaign", "batch", "charge_point__identity"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "charge_point"], name="uniq_fw_job_cp")
        ]
        indexes = [
            models.Index(fields=["campaign", "status", "batch"]),
            models.Index(fields=["charge_point", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.charge_point_id} in campaign {self.campaign_id}: {self.status}"
