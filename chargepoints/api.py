"""Tenant API of the chargepoints app: charge points and idTags (SPEC §3.3).

Views are thin: the tenant-scoped base filters every queryset, serializers validate, and every
write goes through :mod:`chargepoints.services`.
"""

from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Prefetch
from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import build_basic_type
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import mixins, serializers

from chargepoints.authorization.id_tags import (
    ID_TAG_DUPLICATE,
    id_tag_create,
    id_tag_delete,
    id_tag_update,
)
from chargepoints.authorization.verdicts import id_tag_status, id_tags_matching
from chargepoints.group_api import TenantChargePointField, TenantGroupField
from chargepoints.local_list_api import LocalListStateSerializer, local_list_state_of
from chargepoints.models import (
    BOOT_REPORTED_FIELDS,
    ChargePoint,
    Connector,
    IdTag,
    IdTagStatus,
    RegistrationStatus,
    Reservation,
    ReservationStatus,
)
from chargepoints.passwords import password_problem
from chargepoints.selectors import connector_shown_status, reserved_connector_ids
from chargepoints.services.charge_points import (
    charge_point_create,
    charge_point_delete,
    charge_point_update,
)
from csms.api.filters import StrictBooleanFilter
from csms.api.viewsets import TenantScopedViewSet
from csms.ocpp.compat import INT32_MAX

CHARGE_POINT_DUPLICATE = "A charge point with this identity already exists."
EXPIRED = "Expired"


def _printable_without_slash(value: str) -> None:
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
            "created_at",
            "connectors",
            "local_list",
        ]
        read_only_fields = ["connected", "last_seen", *BOOT_REPORTED_FIELDS, "created_at"]

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
        _printable_without_slash(value)
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


class ChargePointViewSet(
    # The scoped base comes first: its perform_create stamps the caller's tenant.
    TenantScopedViewSet,
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
    lookup_field = "identity"
    # Identities may hold spaces and other URL-encoded characters, just not "/".
    lookup_value_regex = "[^/]+"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def perform_destroy(self, instance: ChargePoint) -> None:
        charge_point_delete(charge_point=instance)


# --- IdTags ------------------------------------------------------------------------------------


def id_tag_status_at(tag: IdTag, now: datetime) -> str:
    """What an idTag reads as: the authorization rule itself, without its query."""
    return id_tag_status(tag, now)


class IdTagStatusField(serializers.ChoiceField):
    """Written ``Accepted`` or ``Blocked``; an Accepted tag past its expiry date reads
    ``Expired``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=IdTagStatus.choices, **kwargs)

    def get_attribute(self, instance: IdTag) -> str:
        return id_tag_status_at(instance, timezone.now())

    def to_representation(self, value: str) -> str:
        return value


class IdTagStatusFieldExtension(OpenApiSerializerFieldExtension):
    target_class = IdTagStatusField

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        if direction == "request":
            return {**build_basic_type(OpenApiTypes.STR), "enum": IdTagStatus.values}
        # Described, not an enum: enum components are shared between request and response.
        return {
            **build_basic_type(OpenApiTypes.STR),
            "description": "Accepted, Blocked, or Expired (an Accepted tag past expiry_date).",
        }


class IdTagSerializer(serializers.ModelSerializer):
    id_tag = serializers.CharField(min_length=1, max_length=20, trim_whitespace=False)
    status = IdTagStatusField(required=False)
    expiry_date = serializers.DateTimeField(
        required=False, allow_null=True, help_text="A past date is allowed: the tag is Expired."
    )
    parent_id_tag = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=20, trim_whitespace=False
    )
    max_active_transactions = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=INT32_MAX,
        help_text="More concurrent transactions than this → ConcurrentTx.",
    )
    allowed_charge_points = TenantChargePointField(
        many=True,
        required=False,
        help_text="May charge only at these charge points (identities) and at the members of "
        "allowed_groups (see restricted); setting both to [] lifts the limit.",
    )
    allowed_groups = TenantGroupField(
        many=True, required=False, help_text="Ids of charge point groups it may charge at."
    )

    class Meta:
        model = IdTag
        fields = [
            "id_tag",
            "status",
            "expiry_date",
            "parent_id_tag",
            "in_local_list",
            "max_active_transactions",
            "restricted",
            "allowed_charge_points",
            "allowed_groups",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["restricted", "created_at", "updated_at"]

    def validate_id_tag(self, value: str) -> str:
        _printable_without_slash(value)
        duplicates = id_tags_matching(tenant_id=self.context["tenant"].pk, id_tag=value)
        if self.instance is not None:
            duplicates = duplicates.exclude(pk=self.instance.pk)
        if duplicates.exists():
            raise serializers.ValidationError(ID_TAG_DUPLICATE)
        return value

    def validate_parent_id_tag(self, value: str | None) -> str:
        return value or ""

    def create(self, validated_data: dict[str, Any]) -> IdTag:
        return id_tag_create(**validated_data)

    def update(self, instance: IdTag, validated_data: dict[str, Any]) -> IdTag:
        return id_tag_update(tag=instance, **validated_data)


class IdTagFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=IdTagStatus.choices, help_text="Stored status.")
    in_local_list = StrictBooleanFilter()

    class Meta:
        model = IdTag
        fields = ["status", "in_local_list"]


class IdTagViewSet(
    TenantScopedViewSet,
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
):
    """The tenant's idTags (OCPP IdToken), addressed by their value."""

    queryset = IdTag.objects.prefetch_related("allowed_charge_points", "allowed_groups")
    serializer_class = IdTagSerializer
    filterset_class = IdTagFilter
    lookup_field = "id_tag"
    lookup_value_regex = "[^/]+"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def perform_destroy(self, instance: IdTag) -> None:
        id_tag_delete(tag=instance)
