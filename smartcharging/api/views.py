"""Smart-charging API views: thin, tenant-scoped, every write through the services."""

from decimal import Decimal
from typing import Any

from adrf.views import APIView as AsyncAPIView
from asgiref.sync import sync_to_async
from django.db import transaction
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from chargepoints.api.commands import CommandSerializer
from chargepoints.commands.waiting import command_wait
from chargepoints.models import ChargePoint, Command
from csms.api.lists import LIST_PARAMETERS, StrictPageNumberPagination, paginated_list
from csms.api.viewsets import TenantScopedMixin, TenantScopedViewSet
from csms.tenancy.authentication import TenantClient
from smartcharging.api.serializers import (
    ChargingProfileSerializer,
    ChargingProfileWriteSerializer,
    ChargingSiteSerializer,
    ClearRequestSerializer,
    CompositeQuerySerializer,
    CompositeScheduleSerializer,
    InstalledChargingProfileSerializer,
    InstallRequestSerializer,
)
from smartcharging.composite import CompositeSchedule, Electrical, RateUnit
from smartcharging.models import (
    ChargingProfile,
    ChargingProfileKind,
    ChargingProfilePurpose,
    ChargingRateUnit,
    ChargingSite,
    InstalledChargingProfile,
)
from smartcharging.selectors import (
    charge_point_composite_schedule,
    charge_point_site,
    site_electrical,
)
from smartcharging.services.profiles import (
    Requester,
    charging_profile_clear,
    charging_profile_create,
    charging_profile_delete,
    charging_profile_install,
    charging_profile_update,
)
from smartcharging.services.sites import (
    charging_site_create,
    charging_site_delete,
    charging_site_rebalance,
    charging_site_update,
)

IEC_61851_MIN_CURRENT = 6  # A: below this a car cannot charge


def _requester(request: Request) -> Requester:
    client: TenantClient = request.user
    return Requester(token=client.token)


def _commands_data(commands: list[Command]) -> list[dict[str, Any]]:
    return CommandSerializer(commands, many=True).data


# --- Charging profiles --------------------------------------------------------------------------


class ChargingProfileFilter(filters.FilterSet):
    purpose = filters.ChoiceFilter(
        field_name="charging_profile_purpose", choices=ChargingProfilePurpose.choices
    )
    kind = filters.ChoiceFilter(
        field_name="charging_profile_kind", choices=ChargingProfileKind.choices
    )
    unit = filters.ChoiceFilter(field_name="charging_rate_unit", choices=ChargingRateUnit.choices)
    stack_level = filters.NumberFilter()
    transaction_id = filters.NumberFilter()
    charging_site = filters.NumberFilter(field_name="charging_site_id")
    charge_point = filters.CharFilter(
        method="installed_on", help_text="Installed on this charge point (identity)."
    )

    class Meta:
        model = ChargingProfile
        fields = ["purpose", "kind", "unit", "stack_level", "transaction_id", "charging_site"]

    def installed_on(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(installations__charge_point__identity=value).distinct()


class ChargingProfileViewSet(
    TenantScopedViewSet,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
):
    """The tenant's charging profiles (OCPP 1.6 §7.8), by chargingProfileId.

    POST with ``install`` sends SetChargingProfile at once; PATCH sends the changed profile
    wherever it is installed; DELETE sends ClearChargingProfile wherever it is installed.
    """

    queryset = ChargingProfile.objects.prefetch_related("installations__charge_point")
    serializer_class = ChargingProfileSerializer
    filterset_class = ChargingProfileFilter
    lookup_field = "charging_profile_id"
    lookup_value_regex = "[0-9]+"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    @extend_schema(
        request=ChargingProfileSerializer, responses={201: ChargingProfileWriteSerializer}
    )
    def create(self, request: Request) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        target = serializer.validated_data.get("install")
        with transaction.atomic():
            profile, command = charging_profile_create(
                tenant=self.tenant,
                fields=serializer.profile_fields(),
                install_on=(target["charge_point"], target["connector_id"]) if target else None,
                requester=_requester(request),
            )
        return self._written(profile, [command] if command else [], status.HTTP_201_CREATED)

    @extend_schema(request=ChargingProfileSerializer, responses=ChargingProfileWriteSerializer)
    def partial_update(self, request: Request, charging_profile_id: str) -> Response:
        profile = self.get_object()
        serializer = self.get_serializer(profile, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            profile, commands = charging_profile_update(
                profile=profile, fields=serializer.profile_fields(), requester=_requester(request)
            )
        return self._written(profile, commands, status.HTTP_200_OK)

    def destroy(self, request: Request, charging_profile_id: str) -> Response:
        profile = self.get_object()
        with transaction.atomic():
            charging_profile_delete(profile=profile, requester=_requester(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=InstallRequestSerializer, responses={202: CommandSerializer})
    @action(detail=True, methods=["post"])
    def install(self, request: Request, charging_profile_id: str) -> Response:
        """Send SetChargingProfile for this profile to a charge point's connector."""
        profile = self.get_object()
        serializer = InstallRequestSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            command = charging_profile_install(
                profile=profile,
                charge_point=serializer.validated_data["charge_point"],
                connector_id=serializer.validated_data["connector_id"],
                requester=_requester(request),
            )
        return Response(CommandSerializer(command).data, status=status.HTTP_202_ACCEPTED)

    def _written(self, profile: ChargingProfile, commands: list[Command], code: int) -> Response:
        profile = self.get_queryset().get(pk=profile.pk)
        data = {**self.get_serializer(profile).data, "commands": _commands_data(commands)}
        return Response(data, status=code)


# --- Per charge point: installed profiles, clear, composite schedule ----------------------------


class ChargePointChargingProfilesView(TenantScopedMixin, AsyncAPIView):
    """``/charge-points/{identity}/charging-profiles/``: what the charge point has installed
    (what it accepted and has not cleared since)."""

    pagination_class = StrictPageNumberPagination
    search_fields = ["charging_profile_purpose"]
    ordering_fields = [
        "connector_id",
        "charging_profile_id",
        "charging_profile_purpose",
        "stack_level",
        "installed_at",
    ]

    @extend_schema(
        responses=InstalledChargingProfileSerializer(many=True), parameters=LIST_PARAMETERS
    )
    async def get(self, request: Request, identity: str) -> Response:
        return await sync_to_async(self._get)(request, identity)

    def _get(self, request: Request, identity: str) -> Response:
        charge_point = get_object_or_404(ChargePoint, tenant=self.tenant, identity=identity)
        installed = InstalledChargingProfile.objects.filter(charge_point=charge_point)
        return paginated_list(
            self,
            request,
            installed,
            lambda page: InstalledChargingProfileSerializer(page, many=True).data,
        )


class ChargePointClearChargingProfilesView(TenantScopedMixin, AsyncAPIView):
    """``/charge-points/{identity}/clear-charging-profiles/``: send ClearChargingProfile."""

    @extend_schema(request=ClearRequestSerializer, responses={202: CommandSerializer})
    async def post(self, request: Request, identity: str) -> Response:
        return await sync_to_async(self._post)(request, identity)

    def _post(self, request: Request, identity: str) -> Response:
        charge_point = get_object_or_404(ChargePoint, tenant=self.tenant, identity=identity)
        serializer = ClearRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        criteria = serializer.validated_data
        with transaction.atomic():
            command = charging_profile_clear(
                charge_point=charge_point,
                charging_profile_id=criteria.get("id"),
                connector_id=criteria.get("connector_id"),
                purpose=criteria.get("charging_profile_purpose"),
                stack_level=criteria.get("stack_level"),
                requester=_requester(request),
            )
        return Response(CommandSerializer(command).data, status=status.HTTP_202_ACCEPTED)


class CompositeScheduleView(TenantScopedMixin, AsyncAPIView):
    """``/charge-points/{identity}/composite-schedule/``: the composite schedule we compute
    from what the charge point installed (OCPP 1.6 §3.13) and, with ``?ask=1``, the charge
    point's own GetCompositeSchedule answer beside it. Async: waiting for the charge point
    holds no thread."""

    @extend_schema(
        parameters=[CompositeQuerySerializer],
        responses=CompositeScheduleSerializer,
    )
    async def get(self, request: Request, identity: str) -> Response:
        query = CompositeQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        schedule, command = await sync_to_async(self._compute)(request, identity, params)
        if command is not None and params["wait"] and not command.finished:
            command = await command_wait(command_id=command.pk, timeout=params["wait"])
        data = await sync_to_async(self._represent)(identity, schedule, command)
        return Response(data)

    def _compute(
        self, request: Request, identity: str, params: dict[str, Any]
    ) -> tuple[CompositeSchedule, Command | None]:
        charge_point = get_object_or_404(ChargePoint, tenant=self.tenant, identity=identity)
        defaults = site_electrical(charge_point_site(charge_point=charge_point))
        electrical = Electrical(
            voltage=params.get("voltage") or defaults.voltage,
            phases=params.get("phases") or defaults.phases,
        )
        schedule = charge_point_composite_schedule(
            charge_point=charge_point,
            connector_id=params["connector_id"],
            duration=params["duration"],
            unit=RateUnit(params["unit"]),
            electrical=electrical,
        )
        command = None
        if params["ask"]:
            with transaction.atomic():
                command = _requester(request).dispatch(
                    charge_point=charge_point,
                    action="GetCompositeSchedule",
                    payload={
                        "connectorId": params["connector_id"],
                        "duration": params["duration"],
                        "chargingRateUnit": params["unit"],
                    },
                )
        return schedule, command

    def _represent(
        self, identity: str, schedule: CompositeSchedule, command: Command | None
    ) -> dict[str, Any]:
        return CompositeScheduleSerializer(
            {
                "charge_point": identity,
                "connector_id": schedule.connector_id,
                "schedule_start": schedule.start,
                "duration": schedule.duration,
                "charging_rate_unit": schedule.charging_rate_unit.value,
                "charging_schedule_period": [
                    {
                        "start_period": p.start_period,
                        "limit": p.limit,
                        "number_phases": p.number_phases,
                    }
                    for p in schedule.periods
                ],
                "charge_point_answer": command,
            }
        ).data


# --- Sites --------------------------------------------------------------------------------------


class ChargingSiteViewSet(
    TenantScopedViewSet,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
):
    """Sites: charge points sharing one power or current limit. Running sessions get fair
    shares as TxProfiles, recomputed whenever a session starts or stops."""

    queryset = ChargingSite.objects.prefetch_related("memberships__charge_point")
    serializer_class = ChargingSiteSerializer
    filterset_fields = ["limit_unit"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def create(self, request: Request) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        fields = dict(serializer.validated_data)
        charge_points = fields.pop("charge_points", [])
        fields.setdefault("min_rate", _default_min_rate(fields))
        with transaction.atomic():
            site = charging_site_create(
                tenant=self.tenant, fields=fields, charge_points=charge_points
            )
        return Response(self.get_serializer(site).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: str) -> Response:
        site = self.get_object()
        serializer = self.get_serializer(site, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        fields = dict(serializer.validated_data)
        charge_points = fields.pop("charge_points", None)
        with transaction.atomic():
            site = charging_site_update(site=site, fields=fields, charge_points=charge_points)
        return Response(self.get_serializer(site).data)

    def destroy(self, request: Request, pk: str) -> Response:
        site = self.get_object()
        with transaction.atomic():
            charging_site_delete(site=site, requester=_requester(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={202: CommandSerializer(many=True)})
    @action(detail=True, methods=["post"])
    def rebalance(self, request: Request, pk: str) -> Response:
        """Recompute the shares now and push what changed."""
        site = self.get_object()
        commands = charging_site_rebalance(site_id=site.pk)
        return Response(_commands_data(commands), status=status.HTTP_202_ACCEPTED)


def _default_min_rate(fields: dict[str, Any]) -> Decimal:
    minimum = Decimal(IEC_61851_MIN_CURRENT)
    if fields.get("limit_unit") == ChargingRateUnit.WATT:
        minimum *= Decimal(str(fields.get("voltage", 230))) * fields.get("phases", 3)
    return minimum
