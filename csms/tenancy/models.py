"""Tenants and their API tokens.

Every tenant-owned model elsewhere carries a ``tenant`` foreign key to :class:`Tenant`.
"""

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
