"""``/api/v1/firmware-updates/``: firmware campaigns, their jobs and summary; pause, resume,
cancel. Thin: the scoped base filters, serializers validate, services write."""

from typing import Any

from django.db.models import Prefetch, QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from csms.api.viewsets import TenantScopedViewSet
from csms.tenancy.authentication import TenantClient
from firmware.models import FirmwareJob, FirmwareJobStatus, FirmwareUpdate
from firmware.models.firmware_updates import INT32_MAX
from firmware.selectors import firmware_update_summaries
from firmware.services.firmware_updates import (
    firmware_update_cancel,
    firmware_update_create,
    firmware_update_pause,
    firmware_update_resume,
)

FirmwareUpdateSummarySerializer = type(
    "FirmwareUpdateSummarySerializer",
    (serializers.Serializer,),
    {
        **{status: serializers.IntegerField() for status in FirmwareJobStatus.values},
        "total": serializers.IntegerField(),
        "__doc__": "Jobs per status.",
    },
)


class FirmwareJobSerializer(serializers.ModelSerializer):
    charge_point = serializers.SlugRelatedField(slug_field="identity", read_only=True)

    class Meta:
        model = FirmwareJob
        fields = [
            "charge_point",
            "batch",
            "status",
            "attempts",
            "last_status",
            "last_error",
            "command",
            "dispatched_at",
            "last_heard_at",
            "next_attempt_at",
            "finished_at",
        ]
        read_only_fields = fields


class FirmwareUpdateSerializer(serializers.ModelSerializer):
    charge_points = serializers.ListField(
        child=serializers.CharField(max_length=48),
        write_only=True,
        required=False,
        allow_empty=False,
        help_text="Identities of the target charge points; the filter fields narrow the list. "
        "Without it, every charge point matching the filter.",
    )
    retries = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=INT32_MAX
    )
    retry_interval = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=INT32_MAX
    )
    max_attempts = serializers.IntegerField(required=False, min_value=1, max_value=100)
    summary = serializers.SerializerMethodField()

    class Meta:
        model = FirmwareUpdate
        fields = [
            "id",
            "name",
            "location",
            "firmware_version",
            "signed",
            "signing_certificate",
            "signature",
            "charge_points",
            "filter_vendor",
            "filter_model",
            "filter_firmware_version",
            "status",
            "retrieve_date",
            "retries",
            "retry_interval",
            "max_attempts",
            "attempt_interval",
            "batch_size",
            "max_in_flight",
            "batch_pause",
            "failure_threshold",
            "starts_at",
            "expires_at",
            "quiet_after",
            "status_timeout",
            "current_batch",
            "summary",
            "created_at",
            "finished_at",
        ]
        read_only_fields = ["id", "status", "current_batch", "summary", "created_at", "finished_at"]

    @extend_schema_field(FirmwareUpdateSummarySerializer)
    def get_summary(self, campaign: FirmwareUpdate) -> dict[str, int]:
        summaries = self.context.get("summaries")
        if summaries is None or campaign.pk not in summaries:
            summaries = firmware_update_summaries(campaign_ids=[campaign.pk])
        return summaries[campaign.pk]

    def create(self, validated_data: dict[str, Any]) -> FirmwareUpdate:
        identities = validated_data.pop("charge_points", None)
        return firmware_update_create(charge_point_identities=identities, **validated_data)


class FirmwareUpdateDetailSerializer(FirmwareUpdateSerializer):
    jobs = FirmwareJobSerializer(many=True, read_only=True)

    class Meta(FirmwareUpdateSerializer.Meta):
        fields = [*FirmwareUpdateSerializer.Meta.fields, "jobs"]


class FirmwareUpdateViewSet(
    # The scoped base comes first: it filters every queryset by the caller's tenant.
    TenantScopedViewSet,
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
):
    """Firmware campaigns of the tenant. A campaign sends UpdateFirmware to its charge points in
    batches on the platform's beat; each job follows FirmwareStatusNotification and is
    verified by the next BootNotification's firmware version."""

    queryset = FirmwareUpdate.objects.all()
    serializer_class = FirmwareUpdateSerializer
    filterset_fields = ["status"]

    def get_queryset(self) -> QuerySet[FirmwareUpdate]:
        queryset = super().get_queryset()
        if self.action != "list":
            jobs = FirmwareJob.objects.select_related("charge_point").order_by(
                "batch", "charge_point__identity"
            )
            queryset = queryset.prefetch_related(Prefetch("jobs", queryset=jobs))
        return queryset

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        if self.action == "list":
            return FirmwareUpdateSerializer
        return FirmwareUpdateDetailSerializer

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        client: TenantClient = self.request.user
        serializer.save(tenant=self.tenant, created_by_token=client.token)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        campaigns = page if page is not None else list(queryset)
        context = {
            **self.get_serializer_context(),
            "summaries": firmware_update_summaries(campaign_ids=[c.pk for c in campaigns]),
        }
        data = FirmwareUpdateSerializer(campaigns, many=True, context=context).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    def _transition(self, service: Any) -> Response:
        campaign = service(campaign=self.get_object())
        fresh = self.get_queryset().get(pk=campaign.pk)
        return Response(self.get_serializer(fresh).data)

    @extend_schema(request=None, responses=FirmwareUpdateDetailSerializer)
    @action(detail=True, methods=["post"])
    def pause(self, request: Request, pk: str | None = None) -> Response:
        """Send nothing new; jobs already sent are followed. 409 unless running."""
        return self._transition(firmware_update_pause)

    @extend_schema(request=None, responses=FirmwareUpdateDetailSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, pk: str | None = None) -> Response:
        """Paused, or stopped by the failure rate → running (a stopped campaign goes on with its
        next batch). 409 otherwise."""
        return self._transition(firmware_update_resume)

    @extend_schema(request=None, responses=FirmwareUpdateDetailSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        """Nothing more is sent and queued UpdateFirmware is withdrawn; charge points that already
        accepted are followed to the end. 409 if already cancelled or completed."""
        return self._transition(firmware_update_cancel)
