"""``/api/v1/diagnostics-requests/``: GetDiagnostics requests of the tenant and the files the
charge points uploaded."""

import json
from pathlib import PurePosixPath
from typing import Any

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import mixins, renderers, serializers
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.reverse import reverse

from chargepoints.models import ChargePoint
from csms.api.viewsets import TenantScopedViewSet
from csms.tenancy.authentication import TenantClient
from firmware.models import DiagnosticsRequest
from firmware.models.diagnostics import INT32_MAX
from firmware.services.diagnostics import diagnostics_request_create


class TenantChargePointField(serializers.SlugRelatedField):
    """A charge point named by its identity, looked up among the caller's own only."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(slug_field="identity", **kwargs)

    def get_queryset(self) -> Any:
        return ChargePoint.objects.filter(tenant=self.context["tenant"])


class DiagnosticsRequestSerializer(serializers.ModelSerializer):
    charge_point = TenantChargePointField()
    location = serializers.CharField(
        max_length=512,
        required=False,
        allow_blank=True,
        help_text="External FTP/HTTP(S) upload location. Omitted: the charge point uploads to "
        "this platform, and the file is downloadable at file_url.",
    )
    retries = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=INT32_MAX
    )
    retry_interval = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=INT32_MAX
    )
    max_attempts = serializers.IntegerField(required=False, min_value=1, max_value=100)
    uses_upload_receiver = serializers.BooleanField(read_only=True)
    file_received = serializers.SerializerMethodField()
    file_url = serializers.SerializerMethodField()

    class Meta:
        model = DiagnosticsRequest
        fields = [
            "id",
            "charge_point",
            "log_type",
            "status",
            "start_time",
            "stop_time",
            "retries",
            "retry_interval",
            "location",
            "uses_upload_receiver",
            "max_attempts",
            "attempt_interval",
            "attempts",
            "file_name",
            "file_received",
            "file_size",
            "file_url",
            "received_at",
            "last_status",
            "last_error",
            "command",
            "schedule",
            "dispatched_at",
            "last_heard_at",
            "next_attempt_at",
            "created_at",
            "finished_at",
        ]
        read_only_fields = [
            "id",
            "status",
            "attempts",
            "file_name",
            "file_size",
            "received_at",
            "last_status",
            "last_error",
            "command",
            "schedule",
            "dispatched_at",
            "last_heard_at",
            "next_attempt_at",
            "created_at",
            "finished_at",
        ]

    def get_file_received(self, request: DiagnosticsRequest) -> bool:
        return bool(request.file)

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_file_url(self, request: DiagnosticsRequest) -> str | None:
        if not request.file:
            return None
        return reverse(
            "diagnostics-request-file",
            kwargs={"pk": request.pk},
            request=self.context.get("request"),
        )

    def create(self, validated_data: dict[str, Any]) -> DiagnosticsRequest:
        return diagnostics_request_create(**validated_data)


class DownloadRenderer(renderers.BaseRenderer):
    """Lets a client ask for the file with ``Accept: application/octet-stream``; error bodies
    negotiated to it are still JSON."""

    media_type = "application/octet-stream"
    format = "bin"
    charset = None
    render_style = "binary"

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        return json.dumps(data).encode() if not isinstance(data, bytes) else data


class DiagnosticsRequestViewSet(
    # The scoped base comes first: it filters every queryset by the caller's tenant.
    TenantScopedViewSet,
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
):
    """GetDiagnostics requests. Created → sent to the charge point at once (queued while it is
    offline); followed through DiagnosticsStatusNotification and the file's arrival."""

    queryset = DiagnosticsRequest.objects.select_related("charge_point")
    serializer_class = DiagnosticsRequestSerializer
    filterset_fields = ["status"]

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        client: TenantClient = self.request.user
        serializer.save(tenant=self.tenant, requested_by_token=client.token)

    @extend_schema(
        responses={
            (200, "application/octet-stream"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The diagnostics file the charge point uploaded."
            ),
            404: OpenApiResponse(description="No such request, or no file received yet."),
        }
    )
    @action(
        detail=True,
        methods=["get"],
        url_path="file",
        url_name="file",
        renderer_classes=[renderers.JSONRenderer, DownloadRenderer],
    )
    def file(self, request: Request, pk: str | None = None) -> FileResponse:
        """The file the charge point uploaded to the platform's receiver (404 until it arrived,
        and for requests with an external upload location)."""
        diagnostics = self.get_object()
        if not diagnostics.file:
            raise NotFound("No file has been received for this request.")
        return FileResponse(
            diagnostics.file.open("rb"),
            as_attachment=True,
            filename=PurePosixPath(diagnostics.file.name).name,
        )
