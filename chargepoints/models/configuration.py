"""A charge point's configuration: the mirror of its keys, the baselines a tenant wants, and
what applying them did."""

from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from chargepoints.configuration.drift import ApplyStatus
from chargepoints.models.charge_points import ChargePoint
from chargepoints.models.commands import Command
from csms.tenancy.models import Tenant


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


class ConfigurationBaseline(models.Model):
    """Configuration values a tenant wants its charge points to have: all of them, one
    vendor's, or one vendor's model. Per key the most specific enabled baseline wins."""

    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="configuration_baselines"
    )
    name = models.CharField(max_length=100)
    # BootNotification chargePointVendor / chargePointModel, matched case-insensitively;
    # empty: any.
    vendor = models.CharField(max_length=20, blank=True)
    model = models.CharField(max_length=20, blank=True)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            # One baseline per scope, so that "the most specific wins" is never a tie.
            models.UniqueConstraint(
                "tenant",
                Lower("vendor"),
                Lower("model"),
                name="uniq_config_baseline_scope",
                violation_error_message="This tenant already has a baseline for this vendor "
                "and model.",
            ),
            models.CheckConstraint(
                condition=Q(model="") | ~Q(vendor=""),
                name="config_baseline_model_has_vendor",
                violation_error_message="A baseline for a model names its vendor too.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def scope(self) -> str:
        return " ".join(filter(None, (self.vendor, self.model))) or "all charge points"


class ConfigurationBaselineEntry(models.Model):
    baseline = models.ForeignKey(
        ConfigurationBaseline, on_delete=models.CASCADE, related_name="entries"
    )
    # ChangeConfiguration.req: key CiString50, value CiString500.
    key = models.CharField(max_length=50)
    value = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["baseline", "key"]
        verbose_name_plural = "configuration baseline entries"
        constraints = [
            models.UniqueConstraint(
                "baseline",
                Lower("key"),
                name="uniq_config_baseline_key",
                violation_error_message="The baseline sets this key already.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.key}={self.value}"


class ConfigurationApplyState(models.Model):
    """The last ChangeConfiguration a baseline sent for one key of one charge point: what
    decides whether it is sent again (``configuration.drift.configuration_change_due``)."""

    charge_point = models.ForeignKey(
        ChargePoint, on_delete=models.CASCADE, related_name="configuration_apply_states"
    )
    key = models.CharField(max_length=50)
    value = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=20, choices=[(s.value, s.value) for s in ApplyStatus])
    error = models.CharField(max_length=255, blank=True)
    command = models.ForeignKey(
        Command, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The charge point's last BootNotification and firmware when the change was sent.
    boot_at = models.DateTimeField(null=True, blank=True)
    firmware_version = models.CharField(max_length=50, blank=True)
    attempted_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["charge_point", "key"]
        constraints = [
            models.UniqueConstraint("charge_point", Lower("key"), name="uniq_config_apply_key")
        ]
        indexes = [models.Index(fields=["status"])]

    def __str__(self) -> str:
        return f"{self.key}={self.value}: {self.status}"
