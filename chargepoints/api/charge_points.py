"""Tenant API: charge points (``/charge-points/``, SPEC §3.3), addressed by their identity.

Views are thin: the tenant-scoped base filters every queryset, serializers validate, and every
write goes through :mod:`chargepoints.services.charge_points`.
"""

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Prefetch
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema_field
from rest_framework import mixins, serializers

from chargepoints.api.local_list import LocalListStateSerializer
from chargepoints.imports import ImportKind
from chargepoints.models import (
    BOOT_REPORTED_FIELDS,
    ChargePoint,
    Connector,
    RegistrationStatus,
    Reservation,
    ReservationStatus,
)
from chargepoints.passwords import password_problem
from chargepoints.selectors import (
    connector_shown_status,
    local_list_state_of,
    reserved_connector_ids,
)
from chargepoints.services.charge_points import (
    charge_point_create,
    charge_point_delete,
    charge_point_update,
)
from csms.api.bulk import BulkImportMixin
from csms.api.filters import StrictBooleanFilter
from csms.api.viewsets import TenantScopedViewSet
from csms.ocpp.compat import INT32_MAX

CHARGE_POINT_DUPLICATE = "A charge point with this identity already exists."


def printable_without_slash(value: str) -> None:
    # The value is a path segment of the API and of the OCPP-J URL (SPEC §3.2).
    if "/" in value or not value.isprintable():
        raise serializers.ValidationError("Must be printable and must not contain '/'.")


# --- Charge points -----------------------------------------------------------------------------


class ConnectorSerializer(serializers.ModelSerializer):
    class Meta:
        model = Connector
        fields = ["connector_id", "status", "error_code", "info", "updated_at"]
        read_only_fields = fields


class ChargePointSerializer(serializers.ModelSerializer):
    identity = serializers.CharField(
        min_length=1, max_length=48, trim_whitespace=False, help_text="OCPP-J identity (URL path)."
    )
    heartbeat_interval = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=10,
        max_value=INT32_MAX,
        help_text="Seconds; null = the tenant's default.",
    )
    password = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        allow_null=True,
        trim_whitespace=False,
        help_text="HTTP Basic password (16-40 printable ASCII characters); "
        "empty or null removes it. Never returned.",
    )
    has_password = serializers.BooleanField(read_only=True)
    security_profile = serializers.ChoiceField(
        choices=[0, 1, 2, 3],
        required=False,
        help_text="The security profile it connects with (0-3; at least the tenant's minimum). "
        "Set it for a charge point that already uses it; raise a live one with "
        "POST .../security-profile/, which waits until it reconnects with the new one.",
    )
    connectors = ConnectorSerializer(many=True, read_only=True)
    local_list = serializers.SerializerMethodField(
        help_text="Local authorization list: version and size it acknowledged, last sync."
    )

    class Meta:
        model = ChargePoint
        fields = [
            "identity",
            "name",
            "connected",
            "last_seen",
            "registration_status",
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
            "heartbeat_interval",
            "has_password",
            "password",
            "security_profile",
            "security_profile_pending",
            "created_at",
            "connectors",
            "local_list",
        ]
        read_only_fields = [
            "connected",
            "last_seen",
            "security_profile_pending",
            *BOOT_REPORTED_FIELDS,
            "created_at",
        ]

    @extend_schema_field(LocalListStateSerializer)
    def get_local_list(self, charge_point: ChargePoint) -> dict[str, Any]:
        return LocalListStateSerializer(local_list_state_of(charge_point)).data

    def to_representation(self, instance: ChargePoint) -> dict[str, Any]:
        data = super().to_representation(instance)
        accepted = getattr(instance, "accepted_reservations", None)
        if accepted is None:
            accepted = instance.reservations.filter(status=ReservationStatus.ACCEPTED)
        reserved = reserved_connector_ids(accepted)
        for connector in data["connectors"]:
            connector["status"] = connector_shown_status(
                connector["status"], reserved=connector["connector_id"] in reserved
            )
        return data

    def validate_identity(self, value: str) -> str:
        if self.instance is not None:
            if value != self.instance.identity:
                raise serializers.ValidationError(
                    "The identity cannot be changed; create a new charge point instead."
                )
            return value
        printable_without_slash(value)
        if ChargePoint.objects.filter(tenant=self.context["tenant"], identity=value).exists():
            raise serializers.ValidationError(CHARGE_POINT_DUPLICATE)
        return value

    def validate_password(self, value: str | None) -> str:
        if not value:
            return ""
        problem = password_problem(value)
        if problem:
            raise serializers.ValidationError(f"Password {problem}.")
        return value

    def create(self, validated_data: dict[str, Any]) -> ChargePoint:
        try:
            with transaction.atomic():
                return charge_point_create(**validated_data)
        except IntegrityError as exc:  # lost a race with another create of the same identity
            raise serializers.ValidationError({"identity": [CHARGE_POINT_DUPLICATE]}) from exc

    def update(self, instance: ChargePoint, validated_data: dict[str, Any]) -> ChargePoint:
        return charge_point_update(charge_point=instance, **validated_data)


class ChargePointFilter(filters.FilterSet):
    connected = StrictBooleanFilter(help_text="Connected now (true/false).")
    status = filters.ChoiceFilter(
        field_name="registration_status",
        choices=RegistrationStatus.choices,
        help_text="Registration status.",
    )

    class Meta:
        model = ChargePoint
        fields = ["connected", "status"]


CHARGE_POINT_IMPORT = ImportKind(
    name="charge points",
    serializer=ChargePointSerializer,
    columns=("identity", "name", "password", "heartbeat_interval"),
    required=("identity",),
    unique="identity",
)


class ChargePointViewSet(
    # The scoped base comes first: its perform_create stamps the caller's tenant.
    TenantScopedViewSet,
    BulkImportMixin,
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
):
    """The tenant's charge points, addressed by their OCPP identity."""

    queryset = ChargePoint.objects.select_related("local_list_state__command").prefetch_related(
        Prefetch("connectors", queryset=Connector.objects.order_by("connector_id")),
        Prefetch(
            "reservations",
            queryset=Reservation.objects.filter(status=ReservationStatus.ACCEPTED),
            to_attr="accepted_reservations",
        ),
    )
    serializer_class = ChargePointSerializer
    filterset_class = ChargePointFilter
    search_fields = ["identity", "name", "vendor", "model", "serial_number", "firmware_version"]
    ordering_fields = [
        "identity",
        "name",
        "connected",
        "last_seen",
        "registration_status",
        "vendor",
        "model",
        "firmware_version",
        "last_boot_at",
        "created_at",
    ]
    import_kind = CHARGE_POINT_IMPORT
    lookup_field = "identity"
    # Identities may hold spaces and other URL-encoded characters, just not "/".
    lookup_value_regex = "[^/]+"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def perform_destroy(self, instance: ChargePoint) -> None:
        charge_point_delete(charge_point=instance)
