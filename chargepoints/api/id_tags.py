"""Tenant API: idTags (``/id-tags/``, SPEC §3.3), addressed by their value. Writes go through
:mod:`chargepoints.authorization.id_tags`."""

from datetime import datetime
from typing import Any

from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import build_basic_type
from drf_spectacular.types import OpenApiTypes
from rest_framework import mixins, serializers

from chargepoints.api.charge_points import printable_without_slash
from chargepoints.api.groups import TenantChargePointField, TenantGroupField
from chargepoints.authorization.id_tags import (
    ID_TAG_DUPLICATE,
    id_tag_create,
    id_tag_delete,
    id_tag_update,
)
from chargepoints.authorization.revocations import id_tag_revocations_pending
from chargepoints.authorization.verdicts import id_tag_status, id_tags_matching
from chargepoints.imports import ImportKind
from chargepoints.models import IdTag, IdTagStatus
from csms.api.bulk import BulkImportMixin
from csms.api.filters import StrictBooleanFilter
from csms.api.viewsets import TenantScopedViewSet
from csms.ocpp.compat import INT32_MAX

EXPIRED = "Expired"


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
    pending_confirmations = serializers.SerializerMethodField(
        help_text="Charge points (identities) that may still accept this tag from their "
        "authorization cache or local list: told of its blocking or expiry (ClearCache or a "
        "Differential SendLocalList), they have not confirmed yet."
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
            "pending_confirmations",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["restricted", "created_at", "updated_at"]

    def get_pending_confirmations(self, tag: IdTag) -> list[str]:
        # A list page reads them for all its tags at once (IdTagViewSet.get_serializer).
        pending = self.context.get("pending_confirmations")
        if pending is None:
            pending = id_tag_revocations_pending(tenant_id=tag.tenant_id, id_tags=[tag.id_tag])
        return list(pending.get(tag.id_tag.lower(), []))

    def validate_id_tag(self, value: str) -> str:
        printable_without_slash(value)
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


ID_TAG_IMPORT = ImportKind(
    name="idTags",
    serializer=IdTagSerializer,
    columns=(
        "id_tag",
        "status",
        "expiry_date",
        "parent_id_tag",
        "in_local_list",
        "max_active_transactions",
    ),
    required=("id_tag",),
    unique="id_tag",
    unique_casefold=True,
)


class IdTagViewSet(
    TenantScopedViewSet,
    BulkImportMixin,
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
    search_fields = ["id_tag", "parent_id_tag"]
    ordering_fields = ["id_tag", "status", "expiry_date", "created_at", "updated_at"]
    lookup_field = "id_tag"
    lookup_value_regex = "[^/]+"
    import_kind = ID_TAG_IMPORT
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def perform_destroy(self, instance: IdTag) -> None:
        id_tag_delete(tag=instance)

    def get_serializer(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("many") and args:
            tags = list(args[0])
            context = kwargs.setdefault("context", self.get_serializer_context())
            context["pending_confirmations"] = id_tag_revocations_pending(
                tenant_id=self.tenant.pk, id_tags=[tag.id_tag for tag in tags]
            )
            args = (tags, *args[1:])
        return super().get_serializer(*args, **kwargs)
