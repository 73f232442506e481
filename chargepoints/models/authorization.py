"""Who may charge where: idTags, charge point groups, and the local lists charge points hold."""

from django.db import models
from django.db.models.functions import Lower

from chargepoints.models.charge_points import ChargePoint
from chargepoints.models.commands import Command
from csms.tenancy.models import Tenant


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


class RevocationMethod(models.TextChoices):
    # OCPP 1.6 §5.15: the charge point holds the tag in its Local Authorization List.
    LOCAL_LIST = "SendLocalList"
    # OCPP 1.6 §5.4: only its Authorization Cache may hold it.
    CLEAR_CACHE = "ClearCache"


class IdTagRevocation(models.Model):
    """A charge point that may still accept an idTag we blocked, expired or deleted (it
    authorized there within the cache lifetime), until it confirms the SendLocalList or the
    ClearCache that makes it forget."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    # The value, not a foreign key: a deleted tag must still be revoked.
    id_tag = models.CharField(max_length=20)
    charge_point = models.ForeignKey(
        ChargePoint, on_delete=models.CASCADE, related_name="id_tag_revocations"
    )
    method = models.CharField(max_length=16, choices=RevocationMethod.choices)
    command = models.ForeignKey(
        Command, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                "tenant",
                Lower("id_tag"),
                condition=models.Q(confirmed_at=None),
                name="idtag_revocation_pending",
            )
        ]

    def __str__(self) -> str:
        return f"{self.id_tag} on {self.charge_point_id} by {self.method}"
