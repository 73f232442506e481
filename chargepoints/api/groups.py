"""Tenant API: charge point groups (``/charge-point-groups/``), and the tenant-scoped related
fields that refer to a tenant's charge points and groups from other resources."""

from typing import Any

from django.db.models import Model, QuerySet
from rest_framework import mixins, serializers

from chargepoints.authorization.groups import (
    GROUP_DUPLICATE,
    charge_point_group_create,
    charge_point_group_delete,
    charge_point_group_update,
)
from chargepoints.models import ChargePoint, ChargePointGroup
from csms.api.viewsets import TenantScopedViewSet


class _TenantScopedRelation:
    """Only the caller's objects can be named: another tenant's reads as "does not exist"."""

    def get_queryset(self) -> QuerySet[Model]:
        queryset = super().get_queryset()  # type: ignore[misc]
        tenant = self.context.get("tenant")  # type: ignore[attr-defined]
        return queryset.filter(tenant=tenant) if tenant is not None else queryset.none()


class TenantChargePointField(_TenantScopedRelation, serializers.SlugRelatedField):
    """A charge point of the caller's tenant, by identity."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(slug_field="identity", queryset=ChargePoint.objects.all(), **kwargs)


class TenantGroupField(_TenantScopedRelation, serializers.PrimaryKeyRelatedField):
    """A charge point group of the caller's tenant, by id."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(queryset=ChargePointGroup.objects.all(), **kwargs)


class ChargePointGroupSerializer(serializers.ModelSerializer):
    name = serializers.CharField(min_length=1, max_length=100)
    charge_points = TenantChargePointField(
        many=True, required=False, source="members", help_text="Identities of the members."
    )

    class Meta:
        model = ChargePointGroup
        fields = ["id", "name", "charge_points", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]

    def validate_name(self, value: str) -> str:
        duplicates = ChargePointGroup.objects.filter(tenant=self.context["tenant"], name=value)
        if self.instance is not None:
            duplicates = duplicates.exclude(pk=self.instance.pk)
        if duplicates.exists():
            raise serializers.ValidationError(GROUP_DUPLICATE)
        return value

    def create(self, validated_data: dict[str, Any]) -> ChargePointGroup:
        return charge_point_group_create(
            tenant=validated_data["tenant"],
            name=validated_data["name"],
            charge_points=validated_data.get("members", ()),
        )

    def update(
        self, instance: ChargePointGroup, validated_data: dict[str, Any]
    ) -> ChargePointGroup:
        return charge_point_group_update(
            group=instance,
            name=validated_data.get("name"),
            charge_points=validated_data.get("members"),
        )


class ChargePointGroupViewSet(
    TenantScopedViewSet,
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
):
    """The tenant's charge point groups, e.g. to limit where an idTag may charge."""

    queryset = ChargePointGroup.objects.prefetch_related("members")
    serializer_class = ChargePointGroupSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def perform_destroy(self, instance: ChargePointGroup) -> None:
        charge_point_group_delete(group=instance)
