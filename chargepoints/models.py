"""Charge points, their connectors, id-tags, and what they tell us over OCPP."""

from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from csms.tenancy.models import Tenant


class RegistrationStatus(models.TextChoices):
    # OCPP 1.6 §7.42 RegistrationStatus
    ACCEPTED = "Accepted"
    PENDING = "Pending"
    REJECTED = "Rejected"


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

    charge_point = models.ForeignKey(
        ChargePoint, on_delete=models.CASCADE, related_name="status_changes"
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


class ChargePointGroup(models.Model):
    """Charge points grouped by a tenant, e.g. to say where an idTag may charge."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="charge_point_groups")
    name = models.CharField(max_length=100)
    members = models.ManyToManyField(ChargePoint, blank=True, related_name="groups")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="uniq_cp_group_name")
        ]

    def __str__(self) -> str:
        return self.name


class IdTagStatus(models.TextChoices):
    ACCEPTED = "Accepted"
    BLOCKED = "Blocked"


class IdTag(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="id_tags")
    id_tag = models.CharField(max_length=20)
    status = models.CharField(
        max_length=16, choices=IdTagStatus.choices, default=IdTagStatus.ACCEPTED
    )
    expiry_date = models.DateTimeField(null=True, blank=True)
    parent_id_tag = models.CharField(max_length=20, blank=True)
    in_local_list = models.BooleanField(default=False)
    max_active_transactions = models.PositiveIntegerField(
        default=1, help_text="More than this many concurrent transactions → ConcurrentTx."
    )
    # "May charge here". A flag rather than "the lists are not empty": deleting the last
    # allowed charge point or group must leave the tag allowed nowhere, not everywhere.
    restricted = models.BooleanField(
        default=False,
        help_text="Only at the allowed charge points and the members of the allowed groups.",
    )
    allowed_charge_points = models.ManyToManyField(
        ChargePoint, blank=True, related_name="allowed_id_tags"
    )
    allowed_groups = models.ManyToManyField(
        ChargePointGroup, blank=True, related_name="allowed_id_tags"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id_tag"]
        constraints = [
            # IdToken is case-insensitive (OCPP 1.6 §7.28): "abc" and "ABC" are one tag.
            models.UniqueConstraint("tenant", Lower("id_tag"), name="uniq_id_tag_ci")
        ]
        indexes = [
            # Every accepted BootNotification asks whether the tenant uses local lists.
            models.Index(
                fields=["tenant"], condition=models.Q(in_local_list=True), name="idtag_local_list"
            )
        ]

    def __str__(self) -> str:
        return self.id_tag


class MessageDirection(models.TextChoices):
    IN = "in", "Charge point → Central System"
    OUT = "out", "Central System → charge point"


class OcppMessage(models.Model):
    """The message log: every frame in and out, verbatim, kept for a retention period."""

    charge_point = models.ForeignKey(ChargePoint, on_delete=models.CASCADE, related_name="messages")
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
    payload = models.JSONField(default=dict)
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


class ConfigurationKey(models.Model):
    """Mirror of a charge point's configuration, from GetConfiguration/ChangeConfiguration."""

    charge_point = models.ForeignKey(
        ChargePoint, on_delete=models.CASCADE, related_name="configuration"
    )
    key = models.CharField(max_length=50)
    # None: the charge point reported the key without a value (distinct from "").
    value = models.TextField(null=True, blank=True)  # noqa: DJ001
    readonly = models.BooleanField(null=True)
    # The charge point listed the key under unknownKey.
    unknown = models.BooleanField(default=False)
    last_read_at = models.DateTimeField(null=True, blank=True)
    last_change_status = models.CharField(max_length=20, blank=True)
    last_changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["charge_point", "key"]
        constraints = [
            models.UniqueConstraint(fields=["charge_point", "key"], name="uniq_config_key")
        ]

    def __str__(self) -> str:
        return f"{self.key}={self.value}"


class LocalListResult(models.TextChoices):
    ACCEPTED = "Accepted"  # the charge point took every SendLocalList of the sync
    UP_TO_DATE = "UpToDate"  # its version matched and nothing had changed
    FAILED = "Failed"
    VERSION_MISMATCH = "VersionMismatch"
    NOT_SUPPORTED = "NotSupported"
    NOT_DELIVERED = "NotDelivered"  # a command of the sync failed, timed out or expired


class LocalListState(models.Model):
    """A charge point's Local Authorization List as it acknowledged it (OCPP 1.6 §5.10,
    §5.15), and the synchronisation under way."""

    charge_point = models.OneToOneField(
        ChargePoint, on_delete=models.CASCADE, primary_key=True, related_name="local_list_state"
    )
    # The last listVersion the charge point accepted from us (0: nothing known).
    version = models.IntegerField(default=0)
    # idTag -> idTagInfo (as on the wire) of the list that version holds.
    entries = models.JSONField(default=dict, blank=True)
    # Entries left out to fit LocalAuthListMaxLength (the last ones by idTag).
    truncated = models.PositiveIntegerField(default=0)
    # The charge point answered NotSupported: no automatic sync until it boots again.
    not_supported = models.BooleanField(default=False)
    last_result = models.CharField(max_length=20, choices=LocalListResult.choices, blank=True)
    last_error = models.CharField(max_length=255, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    # The sync under way: the command awaiting its answer and the SendLocalLists still to send.
    command = models.ForeignKey(
        Command, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    plan = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = "local list state"

    def __str__(self) -> str:
        return f"local list v{self.version} of {self.charge_point_id}"

    @property
    def size(self) -> int:
        return len(self.entries)


class LocalListSyncRequest(models.Model):
    """Debounce of idTag changes: at most one tenant-wide sync task waiting per tenant."""

    tenant = models.OneToOneField(
        Tenant, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    due_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"local list sync of tenant {self.tenant_id} due {self.due_at}"


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


# Configuration baselines live in their own module (this one is long enough); imported here so
# that Django registers them with the app's other models.
from chargepoints.configuration_models import (  # noqa: E402, F401
    ConfigurationApplyState,
    ConfigurationBaseline,
    ConfigurationBaselineEntry,
)
