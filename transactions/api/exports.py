"""CSV exports and the energy report of the tenant API (issue 15 §4).

The exports take the list endpoints' filters and stream (``csms.csv_streaming``); the report is
one aggregate query (``transactions.selectors.energy_report``).
"""

from datetime import UTC
from typing import Any

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from csms.api.viewsets import TenantScopedMixin
from csms.csv_streaming import csv_stream_response
from transactions.api.views import TransactionFilter
from transactions.exports import (
    METER_VALUE_HEADER,
    TRANSACTION_HEADER,
    meter_value_cells,
    meter_value_export_rows,
    transaction_cells,
    transaction_export_rows,
)
from transactions.models import Transaction
from transactions.selectors import ENERGY_REPORT_GROUPS, energy_report, transaction_meter_values


class CsvContentNegotiation(BaseContentNegotiation):
    """A CSV download is CSV whatever the client's Accept header says; its errors (a bad
    filter, a missing session) are the API's JSON like everywhere else."""

    def select_parser(self, request: Request, parsers: list[Any]) -> Any:
        return parsers[0] if parsers else None

    def select_renderer(
        self, request: Request, renderers: list[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        return JSONRenderer(), JSONRenderer.media_type


class _CsvExportView(TenantScopedMixin, GenericAPIView):
    content_negotiation_class = CsvContentNegotiation
    pagination_class = None


class TransactionExportView(_CsvExportView):
    """The tenant's sessions as CSV, newest first, with the list's filters (``charge_point``,
    ``id_tag``, ``active``, ``started_after``, ``started_before``); streamed, any size."""

    queryset = Transaction.objects.all()
    filterset_class = TransactionFilter

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request: Request) -> StreamingHttpResponse:
        sessions = self.filter_queryset(self.get_queryset())
        return csv_stream_response(
            request=request._request,
            rows=transaction_export_rows(sessions),
            header=TRANSACTION_HEADER,
            to_cells=transaction_cells,
            filename=f"transactions-{self.tenant.slug}.csv",
        )


class TransactionMeterValuesExportView(_CsvExportView):
    """Every sampled value of one session as CSV, oldest first; a left-out field is empty."""

    queryset = Transaction.objects.all()
    filter_backends: list[Any] = []
    lookup_url_kwarg = "pk"

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request: Request, pk: int) -> StreamingHttpResponse:
        session = self.get_object()
        return csv_stream_response(
            request=request._request,
            rows=meter_value_export_rows(transaction_meter_values(transaction=session)),
            header=METER_VALUE_HEADER,
            to_cells=meter_value_cells,
            filename=f"transaction-{session.pk}-meter-values.csv",
        )


# --- The energy report --------------------------------------------------------------------------


class EnergyReportQuerySerializer(serializers.Serializer):
    group_by = serializers.ChoiceField(choices=sorted(ENERGY_REPORT_GROUPS), default="day")

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        # "from" is a Python keyword: declared here rather than as an attribute.
        # A day (2025-03-01) reads as its 00:00; a moment without an offset as UTC.
        fields["from"] = serializers.DateTimeField(
            required=False, default_timezone=UTC, help_text="Inclusive."
        )
        fields["to"] = serializers.DateTimeField(
            required=False, default_timezone=UTC, help_text="Exclusive."
        )
        return fields

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        since, until = attrs.get("from"), attrs.get("to")
        if since is not None and until is not None and until <= since:
            raise serializers.ValidationError({"to": "Must be after from."})
        return attrs


class EnergyReportRowSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="The day (YYYY-MM-DD, UTC), identity or idTag.")
    sessions = serializers.IntegerField()
    energy_wh = serializers.IntegerField()
    sessions_without_energy = serializers.IntegerField(
        help_text="Stopped sessions with no trustworthy energy (not in energy_wh)."
    )


class EnergyReportView(TenantScopedMixin, GenericAPIView):
    """Energy of the tenant's stopped sessions, by the UTC day they started, charge point or
    idTag, for sessions started in ``[from, to)``."""

    queryset = Transaction.objects.all()
    filter_backends: list[Any] = []
    pagination_class = None

    @extend_schema(
        parameters=[
            OpenApiParameter("group_by", enum=sorted(ENERGY_REPORT_GROUPS), default="day"),
            OpenApiParameter("from", OpenApiTypes.DATETIME, description="Inclusive."),
            OpenApiParameter("to", OpenApiTypes.DATETIME, description="Exclusive."),
        ],
        responses=EnergyReportRowSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        query = EnergyReportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        since, until = query.validated_data.get("from"), query.validated_data.get("to")
        group_by = query.validated_data["group_by"]
        rows = energy_report(tenant_id=self.tenant.pk, group_by=group_by, since=since, until=until)
        results = [{**row, "key": str(row["key"])} for row in rows]
        return Response(
            {
                "group_by": group_by,
                "from": since,
                "to": until,
                "results": results,
                "total": {
                    "sessions": sum(row["sessions"] for row in rows),
                    "energy_wh": sum(row["energy_wh"] for row in rows),
                    "sessions_without_energy": sum(row["sessions_without_energy"] for row in rows),
                },
            }
        )
