"""Charging profiles, what is installed where, and sites that share a power limit."""

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from chargepoints.models import ChargePoint, Command
from csms.tenancy.models import Tenant
from smartcharging.composite import Kind, Purpose, RateUnit, Recurrency
from transactions.models import Transaction

INT32_MAX = 2**31 - 1
OCPP_INTEGER = [MinValueValidator(0), MaxValueValidator(INT32_MAX)]


class ChargingProfilePurpose(models.TextChoices):
    CHARGE_POINT_MAX = Purpose.CHARGE_POINT_MAX.value
    TX_DEFAULT = Purpose.TX_DEFAULT.value
    TX = Purpose.TX.value


class ChargingProfileKind(models.TextChoices):
    ABSOLUTE = Kind.ABSOLUTE.value
    RECURRING = Kind.RECURRING.value
    RELATIVE = Kind.RELATIVE.value


class RecurrencyKind(models.TextChoices):
    DAILY = Recurrency.DAILY.value
    WEEKLY = Recurrency.WEEKLY.value


class ChargingRateUnit(models.TextChoices):
    AMPERE = RateUnit.AMPERE.value, "A (current per phase)"
    WATT = RateUnit.WATT.value, "W (power)"


class ChargingSite(models.Model):
    """A group of charge points behind one grid connection with a power or current limit."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="charging_sites")
    name = models.CharField(max_length=200)
    limit_unit = models.CharField(max_length=1, choices=ChargingRateUnit.choices)
    limit = models.DecimalField(max_digits=10, decimal_places=1, validators=[MinValueValidator(0)])
    min_rate = models.DecimalField(
        max_digits=10,
        decimal_places=1,
        validators=[MinValueValidator(0)],
        help_text="The least a session is given (in limit_unit); sessions that cannot get it "
        "wait with 0.",
    )
    connector_max_rate = models.DecimalField(
        max_digits=10,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text="Most any one connector can take (in limit_unit); empty: no such limit.",
    )
    phases = models.PositiveSmallIntegerField(
        default=3, validators=[MinValueValidator(1), MaxValueValidator(3)]
    )
    voltage = models.DecimalField(
        max_digits=5, decimal_places=1, default=Decimal("230.0"), validators=[MinValueValidator(1)]
    )
    stack_level = models.PositiveIntegerField(
        default=0,
        help_text="Stack level of the profiles the site pushes where a charge point has not "
        "reported its ChargeProfileMaxStackLevel (the site uses that maximum otherwise).",
    )
    session_default_rate = models.DecimalField(
        max_digits=10,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text="What a session may take from its first second, before its share arrives "
        "(the members' TxDefaultProfile, in limit_unit); empty: min_rate.",
    )
    charge_points = models.ManyToManyField(
        ChargePoint, through="ChargingSiteMembership", related_name="+", blank=True
    )
    # Debounce (see smartcharging.services.sites): every request bumps the generation; a
    # rebalance runs for the newest one only.
    rebalance_generation = models.PositiveBigIntegerField(default=0, editable=False)
    rebalanced_generation = models.PositiveBigIntegerField(default=0, editable=False)
    rebalance_requested_at = models.DateTimeField(null=True, blank=True, editable=False)
    rebalanced_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="uniq_charging_site_name")
        ]

    def __str__(self) -> str:
        return self.name


class ChargingSiteMembership(models.Model):
    """A charge point belongs to at most one site."""

    site = models.ForeignKey(ChargingSite, on_delete=models.CASCADE, related_name="memberships")
    charge_point = models.OneToOneField(
        ChargePoint, on_delete=models.CASCADE, related_name="charging_site_membership"
    )

    class Meta:
        ordering = ["site", "charge_point"]

    def __str__(self) -> str:
        return f"{self.charge_point_id} in {self.site_id}"


class ChargingProfile(models.Model):
    """An OCPP 1.6 ChargingProfile (§7.8) with its ChargingSchedule (§7.12) as the tenant keeps
    it; installing it on a connector sends SetChargingProfile."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="charging_profiles")
    charging_profile_id = models.PositiveIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(INT32_MAX)]
    )
    name = models.CharField(max_length=200, blank=True)
    stack_level = models.PositiveIntegerField(validators=OCPP_INTEGER)
    charging_profile_purpose = models.CharField(
        max_length=24, choices=ChargingProfilePurpose.choices
    )
    charging_profile_kind = models.CharField(max_length=12, choices=ChargingProfileKind.choices)
    recurrency_kind = models.CharField(max_length=8, choices=RecurrencyKind.choices, blank=True)
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_to = models.DateTimeField(null=True, blank=True)
    transaction = models.ForeignKey(
        Transaction,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="charging_profiles",
        help_text="TxProfile only: the transaction it limits.",
    )
    # ChargingSchedule
    duration = models.PositiveIntegerField(null=True, blank=True, validators=OCPP_INTEGER)
    start_schedule = models.DateTimeField(null=True, blank=True)
    charging_rate_unit = models.CharField(max_length=1, choices=ChargingRateUnit.choices)
    # [{"start_period": int, "limit": "16.0", "number_phases": int | None}, ...]: always read and
    # written as a whole, validated on input (smartcharging.profile_rules).
    periods = models.JSONField(default=list)
    min_charging_rate = models.DecimalField(max_digits=10, decimal_places=1, null=True, blank=True)
    # Set on the TxProfiles a site pushes for its sessions.
    charging_site = models.ForeignKey(
        ChargingSite,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="charging_profiles",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["charging_profile_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "charging_profile_id"], name="uniq_charging_profile_id"
            ),
            models.UniqueConstraint(
                fields=["charging_site", "transaction"],
                condition=Q(charging_site__isnull=False),
                name="uniq_site_profile_per_transaction",
            ),
        ]
        indexes = [models.Index(fields=["tenant", "charging_profile_purpose"])]

    def __str__(self) -> str:
        return f"#{self.charging_profile_id} {self.charging_profile_purpose}/{self.stack_level}"


class InstalledChargingProfile(models.Model):
    """A profile a charge point accepted (SetChargingProfile answered Accepted) and has not
    cleared since, as it was sent: the composite schedule is computed from these."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    charge_point = models.ForeignKey(
        ChargePoint, on_delete=models.CASCADE, related_name="installed_charging_profiles"
    )
    connector_id = models.PositiveIntegerField()
    charging_profile_id = models.IntegerField()
    stack_level = models.IntegerField()
    charging_profile_purpose = models.CharField(
        max_length=24, choices=ChargingProfilePurpose.choices
    )
    transaction_id = models.BigIntegerField(null=True, blank=True)
    # The csChargingProfiles object exactly as the charge point accepted it.
    cs_charging_profiles = models.JSONField()
    profile = models.ForeignKey(
        ChargingProfile,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="installations",
    )
    command = models.ForeignKey(Command, on_delete=models.SET_NULL, null=True, related_name="+")
    installed_at = models.DateTimeField()

    class Meta:
        ordering = ["charge_point", "connector_id", "charging_profile_purpose", "-stack_level"]
        constraints = [
            # OCPP 1.6 §5.16: a profile with the same id, or with the same purpose and stack
            # level on the same connector, replaces the old one.
            models.UniqueConstraint(
                fields=["charge_point", "charging_profile_id"], name="uniq_installed_profile_id"
            ),
            models.UniqueConstraint(
                fields=["charge_point", "connector_id", "charging_profile_purpose", "stack_level"],
                name="uniq_installed_profile_slot",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.charging_profile_id} on {self.charge_point_id}/{self.connector_id}"


class ChargingProfileRejection(models.Model):
    """A SetChargingProfile the charge point answered Rejected: sent again with backoff until
    it accepts (the row goes) or the retries run out (``given_up_at``, and the
    ``charging_profile.rejected`` event)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    charge_point = models.ForeignKey(
        ChargePoint, on_delete=models.CASCADE, related_name="rejected_charging_profiles"
    )
    connector_id = models.PositiveIntegerField()
    charging_profile_id = models.IntegerField()
    # The SetChargingProfile.req as sent (and as sent again).
    payload = models.JSONField()
    attempts = models.PositiveSmallIntegerField(default=0)
    last_command = models.ForeignKey(
        Command, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    given_up_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["charge_point", "connector_id", "charging_profile_id"],
                name="uniq_rejected_profile",
            )
        ]

    def __str__(self) -> str:
        return f"#{self.charging_profile_id} rejected by {self.charge_point_id} ({self.attempts}x)"
