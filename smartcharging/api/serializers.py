"""Serializers of the smartcharging API: OCPP's names in snake_case, numbers as numbers."""

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from chargepoints.api.commands import CommandSerializer
from chargepoints.models import ChargePoint
from smartcharging.composite import RateUnit
from smartcharging.models import (
    INT32_MAX,
    ChargingProfile,
    ChargingProfileKind,
    ChargingProfilePurpose,
    ChargingRateUnit,
    ChargingSite,
    InstalledChargingProfile,
    RecurrencyKind,
)
from smartcharging.selectors import site_allocations
from transactions.models import Transaction


def _rate(**kwargs: Any) -> serializers.DecimalField:
    # One decimal: the OCPP schema's multipleOf 0.1 for limits and rates.
    return serializers.DecimalField(
        max_digits=10, decimal_places=1, min_value=0, coerce_to_string=False, **kwargs
    )


@extend_schema_field(OpenApiTypes.STR)
class TenantChargePointField(serializers.SlugRelatedField):
    """A charge point of the caller's tenant, by identity (another tenant's: does not exist)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(slug_field="identity", **kwargs)

    def get_queryset(self) -> Any:
        return ChargePoint.objects.filter(tenant=self.context["tenant"])


class SchedulePeriodSerializer(serializers.Serializer):
    start_period = serializers.IntegerField(min_value=0, max_value=INT32_MAX)
    limit = _rate()
    number_phases = serializers.IntegerField(
        min_value=1, max_value=3, required=False, allow_null=True
    )


class ChargingScheduleSerializer(serializers.Serializer):
    duration = serializers.IntegerField(
        min_value=1, max_value=INT32_MAX, required=False, allow_null=True
    )
    start_schedule = serializers.DateTimeField(required=False, allow_null=True)
    charging_rate_unit = serializers.ChoiceField(choices=ChargingRateUnit.choices)
    charging_schedule_period = SchedulePeriodSerializer(
        many=True, allow_empty=False, source="periods"
    )
    min_charging_rate = _rate(required=False, allow_null=True)


class InstallTargetSerializer(serializers.Serializer):
    charge_point = TenantChargePointField()
    connector_id = serializers.IntegerField(min_value=0, max_value=INT32_MAX)


class InstallationSerializer(serializers.ModelSerializer):
    charge_point = serializers.SlugRelatedField(slug_field="identity", read_only=True)

    class Meta:
        model = InstalledChargingProfile
        fields = ["charge_point", "connector_id", "installed_at"]
        read_only_fields = fields


class ChargingProfileSerializer(serializers.ModelSerializer):
    """A ChargingProfile (OCPP 1.6 §7.8). ``install`` (create only) sends it right away."""

    charging_profile_id = serializers.IntegerField(
        min_value=1,
        max_value=INT32_MAX,
        required=False,
        help_text="OCPP chargingProfileId, unique in the tenant; omitted: the next free one.",
    )
    stack_level = serializers.IntegerField(min_value=0, max_value=INT32_MAX)
    charging_profile_purpose = serializers.ChoiceField(choices=ChargingProfilePurpose.choices)
    charging_profile_kind = serializers.ChoiceField(choices=ChargingProfileKind.choices)
    recurrency_kind = serializers.ChoiceField(
        choices=RecurrencyKind.choices, required=False, allow_null=True
    )
    transaction_id = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text="TxProfile only: the active transaction it limits; omitted with `install`: "
        "the one running on that connector.",
    )
    charging_schedule = ChargingScheduleSerializer(source="*")
    install = InstallTargetSerializer(write_only=True, required=False)
    installations = InstallationSerializer(many=True, read_only=True)

    class Meta:
        model = ChargingProfile
        fields = [
            "charging_profile_id",
            "name",
            "stack_level",
            "charging_profile_purpose",
            "charging_profile_kind",
            "recurrency_kind",
            "valid_from",
            "valid_to",
            "transaction_id",
            "charging_schedule",
            "charging_site",
            "installations",
            "install",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["charging_site", "created_at", "updated_at"]

    def to_representation(self, instance: ChargingProfile) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["recurrency_kind"] = instance.recurrency_kind or None
        return data

    def validate_transaction_id(self, value: int | None) -> Transaction | None:
        if value is None:
            return None
        tx = Transaction.objects.filter(tenant=self.context["tenant"], pk=value).first()
        if tx is None:
            raise serializers.ValidationError("No such transaction.")
        return tx

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if self.instance is not None and "install" in attrs:
            raise serializers.ValidationError(
                {"install": "Install an existing profile with POST …/install/."}
            )
        return attrs

    def profile_fields(self) -> dict[str, Any]:
        """The validated input as model fields for the services."""
        data = dict(self.validated_data)
        data.pop("install", None)
        fields: dict[str, Any] = {}
        if "transaction_id" in data:
            fields["transaction"] = data.pop("transaction_id")
        if "recurrency_kind" in data:
            fields["recurrency_kind"] = data.pop("recurrency_kind") or ""
        if "periods" in data:
            data["periods"] = [dict(period) for period in data["periods"]]
        fields.update(data)
        return fields


class ChargingProfileWriteSerializer(ChargingProfileSerializer):
    """What a create or change answers: the profile and the commands it sent."""

    commands = CommandSerializer(many=True, read_only=True)

    class Meta(ChargingProfileSerializer.Meta):
        fields = [*ChargingProfileSerializer.Meta.fields, "commands"]


class InstallRequestSerializer(InstallTargetSerializer):
    pass


class ClearRequestSerializer(serializers.Serializer):
    """ClearChargingProfile.req (OCPP 1.6 §6.15): by id, or by criteria (none: all)."""

    id = serializers.IntegerField(required=False, help_text="chargingProfileId")
    connector_id = serializers.IntegerField(min_value=0, required=False)
    charging_profile_purpose = serializers.ChoiceField(
        choices=ChargingProfilePurpose.choices, required=False
    )
    stack_level = serializers.IntegerField(min_value=0, required=False)


class InstalledChargingProfileSerializer(serializers.ModelSerializer):
    class Meta:
        model = InstalledChargingProfile
        fields = [
            "connector_id",
            "charging_profile_id",
            "charging_profile_purpose",
            "stack_level",
            "transaction_id",
            "cs_charging_profiles",
            "installed_at",
        ]
        read_only_fields = fields


# --- Composite schedule ---------------------------------------------------------------------


class CompositeQuerySerializer(serializers.Serializer):
    connector_id = serializers.IntegerField(min_value=0, max_value=INT32_MAX)
    duration = serializers.IntegerField(
        min_value=1, max_value=31 * 86400, default=3600, help_text="Seconds."
    )
    unit = serializers.ChoiceField(choices=[u.value for u in RateUnit], default=RateUnit.AMPERE)
    ask = serializers.BooleanField(
        default=False, help_text="Also send GetCompositeSchedule and show the answer."
    )
    wait = serializers.FloatField(
        min_value=0, max_value=60, default=10, help_text="Seconds to wait for that answer."
    )
    voltage = serializers.FloatField(
        min_value=1, required=False, help_text="For A↔W (default: the site's, else 230)."
    )
    phases = serializers.IntegerField(
        min_value=1, max_value=3, required=False, help_text="For A↔W (default: the site's, else 3)."
    )


class CompositePeriodSerializer(serializers.Serializer):
    start_period = serializers.IntegerField()
    limit = serializers.FloatField(allow_null=True, help_text="null: no profile limits it.")
    number_phases = serializers.IntegerField(allow_null=True)


class CompositeScheduleSerializer(serializers.Serializer):
    charge_point = serializers.CharField()
    connector_id = serializers.IntegerField()
    schedule_start = serializers.DateTimeField()
    duration = serializers.IntegerField()
    charging_rate_unit = serializers.CharField()
    charging_schedule_period = CompositePeriodSerializer(many=True)
    charge_point_answer = CommandSerializer(
        allow_null=True, help_text="The GetCompositeSchedule command (with ?ask=1)."
    )


# --- Sites ----------------------------------------------------------------------------------


class SiteAllocationSerializer(serializers.Serializer):
    charging_profile_id = serializers.IntegerField()
    transaction_id = serializers.IntegerField()
    charge_point = serializers.CharField()
    connector_id = serializers.IntegerField()
    limit = serializers.DecimalField(max_digits=10, decimal_places=1, coerce_to_string=False)
    installed_limit = serializers.DecimalField(
        max_digits=10, decimal_places=1, coerce_to_string=False, allow_null=True
    )


class ChargingSiteSerializer(serializers.ModelSerializer):
    charge_points = TenantChargePointField(many=True, required=False)
    limit = _rate(help_text="The site's maximum, in limit_unit.")
    min_rate = _rate(
        required=False,
        help_text="Least share of a session (in limit_unit); default 6 A or its power.",
    )
    connector_max_rate = _rate(required=False, allow_null=True)
    session_default_rate = _rate(
        required=False,
        allow_null=True,
        help_text="What a new session may take until its share arrives (a TxDefaultProfile "
        "on every member, in limit_unit); empty: min_rate.",
    )
    voltage = serializers.DecimalField(
        max_digits=5, decimal_places=1, min_value=1, coerce_to_string=False, required=False
    )
    allocations = serializers.SerializerMethodField()

    class Meta:
        model = ChargingSite
        fields = [
            "id",
            "name",
            "charge_points",
            "limit_unit",
            "limit",
            "min_rate",
            "connector_max_rate",
            "session_default_rate",
            "phases",
            "voltage",
            "stack_level",
            "allocations",
            "rebalance_requested_at",
            "rebalanced_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["rebalance_requested_at", "rebalanced_at", "created_at", "updated_at"]

    @extend_schema_field(SiteAllocationSerializer(many=True))
    def get_allocations(self, site: ChargingSite) -> list[dict[str, Any]]:
        return SiteAllocationSerializer(site_allocations(site=site), many=True).data

    def validate_name(self, value: str) -> str:
        duplicates = ChargingSite.objects.filter(tenant=self.context["tenant"], name=value)
        if self.instance is not None:
            duplicates = duplicates.exclude(pk=self.instance.pk)
        if duplicates.exists():
            raise serializers.ValidationError("A site with this name exists.")
        return value
