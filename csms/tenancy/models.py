"""Tenants and their API tokens.

Every tenant-owned model elsewhere carries a ``tenant`` foreign key to :class:`Tenant`.
"""

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


class UnknownChargePointPolicy(models.TextChoices):
    # OCPP-J §3.2: refuse the handshake with HTTP 404.
    REJECT = "reject", "Reject the connection"
    # Auto-register with registration status Pending; staff or the API accept it later.
    PENDING = "pending", "Register as Pending"


class Tenant(models.Model):
    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    unknown_charge_point_policy = models.CharField(
        max_length=16,
        choices=UnknownChargePointPolicy.choices,
        default=UnknownChargePointPolicy.REJECT,
    )
    heartbeat_interval = models.PositiveIntegerField(
        default=300,
        validators=[MinValueValidator(10)],
        help_text="Seconds; sent to charge points in BootNotification.conf.",
    )
    # OCPP 1.6 §3.5: a charge point's Authorization Cache keeps an idTagInfo until its
    # expiryDate. Capping every Accepted expiryDate bounds how long a card blocked here keeps
    # working offline at chargers that never hear of the change.
    authorization_cache_lifetime = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(60)],
        help_text="Seconds an Accepted idTagInfo may be cached by a charge point (its "
        "expiryDate); empty: only the tag's own expiry date.",
    )
    # Charging profiles go out in the unit a charge point accepts (its
    # ChargingScheduleAllowedChargingRateUnit); P = U · I · phases needs U where no charging
    # site says otherwise.
    nominal_voltage = models.DecimalField(
        max_digits=5,
        decimal_places=1,
        default=Decimal("230.0"),
        validators=[MinValueValidator(1)],
        help_text="Volts (phase to neutral) for converting charging limits between W and A.",
    )
    # Compatibility switches for this tenant's charge points (csms.ocpp.compat.CompatSwitches);
    # a charge point may override each one.
    compat_defaults = models.JSONField(default=dict, blank=True)
    # The lowest security profile any of its charge points may connect with (whitepaper §2;
    # 0..3, see chargepoints.models.SecurityProfile): a charge point's own may only be higher.
    minimum_security_profile = models.PositiveSmallIntegerField(
        default=0, validators=[MaxValueValidator(3)]
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class ApiToken(models.Model):
    """A tenant's API credential. Only a hash of the secret is stored.

    The raw token reads ``csms_<prefix>_<secret>``; ``prefix`` finds the row, the SHA-256 of the
    whole token proves it. Tokens carry 256 bits of randomness, so a fast hash is enough (no
    password stretching needed).
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="api_tokens")
    label = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.tenant.slug}:{self.prefix}" + (f" ({self.label})" if self.label else "")

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class IdempotencyKey(models.Model):
    """The first answer to a POST sent with an ``Idempotency-Key`` header, kept per token until
    ``expires_at`` (csms.api.idempotency): a retry with the same key and body gets it again.

    A row without ``status_code`` is a request still being answered; only 2xx answers are
    kept (a refused request may be corrected and retried under the same key).
    """

    token = models.ForeignKey(ApiToken, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    # SHA-256 of the method, path, query string and body: "the same request".
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.BinaryField(blank=True, default=b"")
    content_type = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["token", "key"], name="idempotency_key_per_token"),
        ]

    def __str__(self) -> str:
        return f"{self.token_id}:{self.key}"
