"""Configuration API: a charge point's keys with catalogue metadata and drift, changing one key,
the tenant's baselines, and the catalogue of standard keys.

The per-charge-point view is async so that ``PATCH …?wait=`` awaits the charge point's answer
without holding the thread that sync views and ORM work share under ASGI.
"""

from typing import Any

from adrf.views import APIView as AsyncAPIView
from asgiref.sync import sync_to_async
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from chargepoints.api.commands import CommandSerializer, command_answer
from chargepoints.configuration.baselines import (
    configuration_baseline_create,
    configuration_baseline_delete,
    configuration_baseline_update,
)
from chargepoints.configuration.catalogue import CATALOGUE, Access, Profile, catalogue_key
from chargepoints.configuration.drift import ApplyStatus, DriftStatus
from chargepoints.configuration.mirror import configuration_key_change
from chargepoints.configuration.overview import ConfigurationRow, configuration_overview
from chargepoints.models import ChargePoint, Command, ConfigurationBaseline
from csms.api.lists import LIST_PARAMETERS
from csms.api.viewsets import TenantScopedMixin, TenantScopedViewSet
from csms.api.waiting import WAIT_PARAMETER, wait_seconds
from csms.tenancy.authentication import TenantClient

# --- The catalogue ------------------------------------------------------------------------------


class CatalogueKeySerializer(serializers.Serializer):
    key = serializers.CharField()
    profile = serializers.ChoiceField(choices=[p.value for p in Profile])
    source = serializers.CharField(help_text="Where the key is specified.")
    required = serializers.BooleanField(help_text="Required when the profile is supported.")
    access = serializers.ChoiceField(
        choices=[a.value for a in Access], help_text="R/RW: the charge point decides (§9.1.3)."
    )
    writable = serializers.BooleanField()
    type = serializers.ChoiceField(choices=["boolean", "integer", "csl", "string"])
    unit = serializers.CharField()
    meaning = serializers.CharField()
    minimum = serializers.IntegerField(required=False, help_text="integer")
    maximum = serializers.IntegerField(required=False, help_text="integer")
    max_length = serializers.IntegerField(required=False, help_text="string")
    item = serializers.CharField(required=False, help_text="csl: what each item is")
    choices = serializers.ListField(child=serializers.CharField(), required=False)
    max_length_key = serializers.CharField(
        required=False, allow_null=True, help_text="csl: the key that limits the item count"
    )


CATALOGUE_ORDERING_FIELDS = ("key", "profile", "type", "access")


class ConfigurationKeyCatalogueViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """``/configuration-keys/``: the standard OCPP 1.6 keys (the same for every tenant, so not
    tenant-scoped; a tenant token is still required)."""

    serializer_class = CatalogueKeySerializer
    filter_backends: list[Any] = []
    lookup_field = "key"

    def get_queryset(self) -> list[dict[str, Any]]:  # type: ignore[override]
        specs = CATALOGUE.values()
        params = self.request.query_params
        profile = params.get("profile")
        rows = [spec.describe() for spec in specs if not profile or spec.profile == profile]
        # A list in memory, not a queryset: the API's search and ordering done here.
        words = params.get("search", "").lower().split()
        if words:
            rows = [
                row
                for row in rows
                if all(word in f"{row['key']} {row['meaning']}".lower() for word in words)
            ]
        for term in reversed([t.strip() for t in params.get("ordering", "").split(",") if t]):
            field = term.removeprefix("-")
            if field not in CATALOGUE_ORDERING_FIELDS:
                raise ValidationError(
                    {
                        "ordering": f"cannot order by {term}; use "
                        f"{', '.join(CATALOGUE_ORDERING_FIELDS)} (prefix - to reverse)"
                    }
                )
            rows.sort(key=lambda row: str(row[field]), reverse=term.startswith("-"))
        return rows

    def get_object(self) -> dict[str, Any]:
        spec = catalogue_key(self.kwargs["key"])
        if spec is None:
            raise Http404
        return spec.describe()

    @extend_schema(
        parameters=[
            *LIST_PARAMETERS,
            OpenApiParameter("profile", str, enum=[p.value for p in Profile]),
        ]
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(
        parameters=[OpenApiParameter("key", str, OpenApiParameter.PATH, description="Any case")]
    )
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().retrieve(request, *args, **kwargs)


# --- A charge point's configuration -------------------------------------------------------------


class ConfigurationApplySerializer(serializers.Serializer):
    value = serializers.CharField(help_text="The value the baseline sent.")
    status = serializers.ChoiceField(choices=[s.value for s in ApplyStatus])
    error = serializers.CharField()
    command = serializers.IntegerField(allow_null=True)
    boot_at = serializers.DateTimeField(allow_null=True)
    firmware_version = serializers.CharField()
    attempted_at = serializers.DateTimeField()
    answered_at = serializers.DateTimeField(allow_null=True)


class ConfigurationRowSerializer(serializers.Serializer):
    key = serializers.CharField()
    # The mirror: what the charge point last reported (null when it never reported the key).
    value = serializers.CharField(allow_null=True)
    readonly = serializers.BooleanField(allow_null=True, help_text="As the charge point said.")
    unknown = serializers.BooleanField(help_text="The charge point answered it as unknownKey.")
    reported = serializers.BooleanField(help_text="Whether the charge point reported the key.")
    last_read_at = serializers.DateTimeField(allow_null=True)
    last_change_status = serializers.CharField()
    last_changed_at = serializers.DateTimeField(allow_null=True)
    standard = serializers.BooleanField(help_text="An OCPP 1.6 key (else vendor-specific).")
    catalogue = CatalogueKeySerializer(allow_null=True)
    desired_value = serializers.CharField(allow_null=True, help_text="What its baseline wants.")
    baseline = serializers.IntegerField(allow_null=True)
    drift = serializers.ChoiceField(choices=[d.value for d in DriftStatus], allow_null=True)
    apply = ConfigurationApplySerializer(allow_null=True, help_text="The baseline's last change.")


def _row_data(row: ConfigurationRow) -> dict[str, Any]:
    mirror, state = row.mirror, row.apply_state
    return {
        "key": row.key,
        "value": mirror.value if mirror else None,
        "readonly": mirror.readonly if mirror else None,
        "unknown": mirror.unknown if mirror else False,
        "reported": mirror is not None and mirror.last_read_at is not None,
        "last_read_at": mirror.last_read_at if mirror else None,
        "last_change_status": mirror.last_change_status if mirror else "",
        "last_changed_at": mirror.last_changed_at if mirror else None,
        "standard": row.spec is not None,
        "catalogue": row.spec.describe() if row.spec else None,
        "desired_value": row.desired.value if row.desired else None,
        "baseline": row.desired.baseline_id if row.desired else None,
        "drift": row.drift,
        "apply": None
        if state is None
        else {
            "value": state.value,
            "status": row.apply_status,
            "error": state.error,
            "command": state.command_id,
            "boot_at": state.boot_at,
            "firmware_version": state.firmware_version,
            "attempted_at": state.attempted_at,
            "answered_at": state.answered_at,
        },
    }


class ConfigurationChangeSerializer(serializers.Serializer):
    key = serializers.CharField(max_length=50)  # CiString50
    value = serializers.CharField(max_length=500, allow_blank=True, trim_whitespace=False)
    force = serializers.BooleanField(
        default=False,
        help_text="Send the value as given, unchecked by the catalogue and by what the charge "
        "point reported (vendor values); recorded on the command with the token.",
    )


class ChargePointConfigurationView(TenantScopedMixin, AsyncAPIView):
    """``/charge-points/{identity}/configuration/``: its keys with catalogue metadata and drift
    (GET), or change one key (PATCH: checked, then sent through the outbox)."""

    def charge_point(self, identity: str) -> ChargePoint:
        return get_object_or_404(ChargePoint, tenant=self.tenant, identity=identity)

    @extend_schema(responses=ConfigurationRowSerializer(many=True))
    async def get(self, request: Request, identity: str) -> Response:
        return await sync_to_async(self._get)(identity)

    def _get(self, identity: str) -> Response:
        rows = configuration_overview(charge_point=self.charge_point(identity))
        return Response(ConfigurationRowSerializer(map(_row_data, rows), many=True).data)

    @extend_schema(
        request=ConfigurationChangeSerializer,
        responses={201: CommandSerializer, 202: CommandSerializer},
        parameters=[WAIT_PARAMETER],
    )
    async def patch(self, request: Request, identity: str) -> Response:
        wait = wait_seconds(request)
        command = await sync_to_async(self._change)(request, identity)
        return await command_answer(command, wait=wait)

    def _change(self, request: Request, identity: str) -> Command:
        serializer = ConfigurationChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        client: TenantClient = request.user
        with transaction.atomic():
            return configuration_key_change(
                charge_point=self.charge_point(identity),
                key=serializer.validated_data["key"],
                value=serializer.validated_data["value"],
                force=serializer.validated_data["force"],
                requested_by_token=client.token,
            )


# --- Baselines ----------------------------------------------------------------------------------


class ConfigurationBaselineEntrySerializer(serializers.Serializer):
    key = serializers.CharField(max_length=50)
    value = serializers.CharField(max_length=500, allow_blank=True, trim_whitespace=False)


class ConfigurationBaselineSerializer(serializers.ModelSerializer):
    name = serializers.CharField(min_length=1, max_length=100)
    entries = ConfigurationBaselineEntrySerializer(
        many=True,
        required=False,
        help_text="Desired values, checked against the catalogue; a PATCH with entries "
        "replaces them all.",
    )

    class Meta:
        model = ConfigurationBaseline
        fields = [
            "id",
            "name",
            "vendor",
            "model",
            "enabled",
            "scope",
            "entries",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "scope", "created_at", "updated_at"]
        extra_kwargs = {
            "vendor": {"help_text": "BootNotification chargePointVendor; empty: any vendor."},
            "model": {"help_text": "chargePointModel (with a vendor); empty: any model."},
        }

    def create(self, validated_data: dict[str, Any]) -> ConfigurationBaseline:
        return configuration_baseline_create(**validated_data)

    def update(
        self, instance: ConfigurationBaseline, validated_data: dict[str, Any]
    ) -> ConfigurationBaseline:
        return configuration_baseline_update(baseline=instance, **validated_data)


class ConfigurationBaselineViewSet(
    TenantScopedViewSet,
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
):
    """``/configuration-baselines/``: the tenant's desired configuration values, applied after
    every accepted boot and on a schedule."""

    queryset = ConfigurationBaseline.objects.prefetch_related("entries")
    serializer_class = ConfigurationBaselineSerializer
    filterset_fields = ["enabled", "vendor", "model"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def perform_destroy(self, instance: ConfigurationBaseline) -> None:
        configuration_baseline_delete(baseline=instance)
