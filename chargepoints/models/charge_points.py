"""Charge points and their connectors as they report themselves over OCPP."""

from django.db import models

from csms.tenancy.models import Tenant


class RegistrationStatus(models.TextChoices):
    # OCPP 1.6 §7.42 RegistrationStatus
    ACCEPTED = "Accepted"
    PENDING = "Pending"
    REJECTED = "Rejected"


class SecurityProfile(models.IntegerChoices):
    # Whitepaper §2: 0 (not in the whitepaper: no security at all), 1 Basic auth over plain
    # WebSocket, 2 TLS with Basic auth, 3 TLS with a client certificate.
    UNSECURED = 0, "0: no authentication"
    BASIC = 1, "1: Basic auth"
    TLS_BASIC = 2, "2: TLS + Basic auth"
    TLS_CLIENT_CERTIFICATE = 3, "3: TLS + client certificate"


# What a charge point reports of itself in BootNotification.req: read-only for people.
BOOT_REPORTED_FIELDS = (
    "vendor",
    "model",
    "serial_number",
    "charge_box_serial_number",
    "firmware_version",
    "iccid",
    "imsi",
    "meter_type",
    "meter_serial_number",
    "last_boot_at",
)


class ChargePoint(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="charge_points")
    identity = models.CharField(max_length=48)
    name = models.CharField(max_length=200, blank=True)
    # Security profile 1/2: HTTP Basic password, hashed (see chargepoints.passwords).
    password_hash = models.CharField(max_length=200, blank=True)
    # The profile it must connect with (at least the tenant's minimum); a raise sent with
    # ChangeConfiguration(SecurityProfile) waits in ``security_profile_pending`` until the
    # charger connects with it, so a charger that cannot is never locked out (whitepaper §1.3).
    security_profile = models.PositiveSmallIntegerField(
        choices=SecurityProfile.choices, default=SecurityProfile.UNSECURED
    )
    security_profile_pending = models.PositiveSmallIntegerField(
        choices=SecurityProfile.choices, null=True, blank=True
    )
    registration_status = models.CharField(
        max_length=16, choices=RegistrationStatus.choices, default=RegistrationStatus.ACCEPTED
    )
    heartbeat_interval = models.PositiveIntegerField(
        null=True, blank=True, help_text="Seconds; empty = the tenant's default."
    )
    # Compatibility switches that override the tenant's defaults (csms.ocpp.compat).
    compat_overrides = models.JSONField(default=dict, blank=True)

    # From BootNotification.req
    vendor = models.CharField(max_length=20, blank=True)
    model = models.CharField(max_length=20, blank=True)
    serial_number = models.CharField(max_length=25, blank=True)
    charge_box_serial_number = models.CharField(max_length=25, blank=True)
    firmware_version = models.CharField(max_length=50, blank=True)
    iccid = models.CharField(max_length=20, blank=True)
    imsi = models.CharField(max_length=20, blank=True)
    meter_type = models.CharField(max_length=25, blank=True)
    meter_serial_number = models.CharField(max_length=25, blank=True)
    last_boot_at = models.DateTimeField(null=True, blank=True)

    # Presence
    connected = models.BooleanField(default=False)
    connected_at = models.DateTimeField(null=True, blank=True)
    last_seen = models.DateTimeField(null=True, blank=True)
    channel_name = models.CharField(max_length=200, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["identity"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "identity"], name="uniq_cp_identity")
        ]
        indexes = [models.Index(fields=["tenant", "connected"])]

    def __str__(self) -> str:
        return self.identity

    @property
    def has_password(self) -> bool:
        return bool(self.password_hash)


class ChargePointStatus(models.TextChoices):
    # OCPP 1.6 §7.7 ChargePointStatus
    AVAILABLE = "Available"
    PREPARING = "Preparing"
    CHARGING = "Charging"
    SUSPENDED_EVSE = "SuspendedEVSE"
    SUSPENDED_EV = "SuspendedEV"
    FINISHING = "Finishing"
    RESERVED = "Reserved"
    UNAVAILABLE = "Unavailable"
    FAULTED = "Faulted"


class Connector(models.Model):
    """A connector as last reported; connector 0 stands for the charge point itself."""

    charge_point = models.ForeignKey(
        ChargePoint, on_delete=models.CASCADE, related_name="connectors"
    )
    connector_id = models.PositiveIntegerField()
    status = models.CharField(max_length=20, choices=ChargePointStatus.choices, blank=True)
    error_code = models.CharField(max_length=30, blank=True)
    info = models.CharField(max_length=50, blank=True)
    vendor_id = models.CharField(max_length=255, blank=True)
    vendor_error_code = models.CharField(max_length=50, blank=True)
    status_timestamp = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["charge_point", "connector_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["charge_point", "connector_id"], name="uniq_connector_per_cp"
            )
        ]

    def __str__(self) -> str:
        return f"{self.charge_point_id}/{self.connector_id}"


class ConnectorStatusChange(models.Model):
    """Every StatusNotification, in order: the connectors' history."""

    # No index of its own: the composite index below starts with it (one index less per row
    # written on the hot path, issue 17).
    charge_point = models.ForeignKey(
        ChargePoint, on_delete=models.CASCADE, related_name="status_changes", db_index=False
    )
    connector_id = models.PositiveIntegerField()
    status = models.CharField(max_length=20)
    error_code = models.CharField(max_length=30)
    info = models.CharField(max_length=50, blank=True)
    vendor_id = models.CharField(max_length=255, blank=True)
    vendor_error_code = models.CharField(max_length=50, blank=True)
    timestamp = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["charge_point", "connector_id", "-received_at"])]

    def __str__(self) -> str:
        return f"{self.connector_id}: {self.status}/{self.error_code}"


class CompatAbsorption(models.Model):
    """How often the compatibility layer absorbed a given quirk of a charge point."""

    charge_point = models.ForeignKey(
        ChargePoint, on_delete=models.CASCADE, related_name="compat_absorptions"
    )
    quirk = models.CharField(max_length=64)
    count = models.PositiveBigIntegerField(default=0)
    first_seen = models.DateTimeField(auto_now_add=True)
    last_seen = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["charge_point", "quirk"]
        constraints = [
            models.UniqueConstraint(fields=["charge_point", "quirk"], name="uniq_quirk_per_cp")
        ]

    def __str__(self) -> str:
        return f"{self.quirk} x{self.count}"
