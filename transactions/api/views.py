"""Tenant API of the transactions app: charging sessions and their meter values (SPEC §3.3).

Written by the charge points over OCPP; through the API a tenant can only close a session the
charger never stopped (``POST .../close/``, issue 15 §2).
"""

from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404
from rest_framework.request import Request
from rest_framework.response import Response

from csms.api.filters import StrictBooleanFilter
from csms.api.viewsets import TenantScopedReadOnlyViewSet
from csms.tenancy.authentication import TenantClient
from transactions.energy import INT64_MAX
from transactions.models import MeterValue, Transaction
from transactions.selectors import transaction_meter_values
from transactions.services import transaction_close


class TransactionSerializer(serializers.ModelSerializer):
    id = serializers.IntegerField(read_only=True, help_text="The OCPP transactionId.")
    charge_point = serializers.SlugRelatedField(
        slug_field="identity", read_only=True, help_text="The charge point's identity."
    )
    energy_wh = serializers.IntegerField(
        read_only=True,
        allow_null=True,
        help_text="From the best evidence (energy_source): meter_stop - meter_start, else the "
        "energy register readings; null while active or when nothing can be trusted.",
    )
    active = serializers.BooleanField(read_only=True)
    flags = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="Sanity findings (OCPP 1.6 §4.7/§4.8), answered normally but flagged.",
    )

    class Meta:
        model = Transaction
        fields = [
            "id",
            "charge_point",
            "connector_id",
            "id_tag",
            "id_tag_status",
            "meter_start",
            "meter_stop",
            "energy_wh",
            "energy_source",
            "started_at",
            "stopped_at",
            "stop_reason",
            "stopped_by",
            "closed_by",
            "close_reason",
            "active",
            "flags",
            "reservation_id",
        ]
        read_only_fields = fields


class TransactionCloseSerializer(serializers.Serializer):
    """A server-side close: all optional."""

    meter_stop = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=0,
        max_value=INT64_MAX,
        help_text="Wh; default: the session's last energy register reading.",
    )
    stopped_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text="ISO 8601; default: now."
    )
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="Recorded on the session; an OCPP stop Reason (e.g. EVDisconnected) is its "
        "stop_reason too, anything else reads Other.",
    )


class MeterValueSerializer(serializers.ModelSerializer):
    """A field the charge point left out is null (OCPP 1.6 §7.45: context, format, measurand,
    location and unit then have their default; phase has none)."""

    class Meta:
        model = MeterValue
        fields = [
            "timestamp",
            "measurand",
            "phase",
            "location",
            "unit",
            "context",
            "format",
            "value",
        ]
        read_only_fields = fields


class TransactionFilter(filters.FilterSet):
    charge_point = filters.CharFilter(
        field_name="charge_point__identity", help_text="The charge point's identity."
    )
    id_tag = filters.CharFilter()
    active = StrictBooleanFilter(
        field_name="stopped_at", lookup_expr="isnull", help_text="Not stopped yet (true/false)."
    )
    started_after = filters.IsoDateTimeFilter(
        field_name="started_at", lookup_expr="gte", help_text="ISO 8601; inclusive."
    )
    started_before = filters.IsoDateTimeFilter(
        field_name="started_at", lookup_expr="lt", help_text="ISO 8601; exclusive."
    )

    class Meta:
        model = Transaction
        fields = ["charge_point", "id_tag", "active", "started_after", "started_before"]


class TransactionViewSet(TenantScopedReadOnlyViewSet):
    """The tenant's transactions, newest first; ``id`` is the OCPP transactionId."""

    queryset = Transaction.objects.select_related("charge_point")
    serializer_class = TransactionSerializer
    filterset_class = TransactionFilter
    search_fields = ["id_tag", "charge_point__identity", "stop_reason"]
    ordering_fields = [
        "id",
        "started_at",
        "stopped_at",
        "connector_id",
        "id_tag",
        "meter_start",
        "meter_stop",
    ]
    lookup_value_regex = "[0-9]+"

    @extend_schema(responses=MeterValueSerializer(many=True))
    @action(
        detail=True,
        methods=["get"],
        url_path="meter-values",
        serializer_class=MeterValueSerializer,
        filterset_class=None,
        search_fields=["measurand", "phase", "location", "unit", "context"],
        ordering_fields=["timestamp", "measurand", "phase", "location"],
    )
    def meter_values(self, request: Request, pk: str | None = None) -> Response:
        """Every sampled value of the transaction, oldest first."""
        # Not get_object(): this action's search and ordering are the meter values', not the
        # transactions'.
        transaction = get_object_or_404(self.get_queryset(), pk=pk)
        self.check_object_permissions(request, transaction)
        values = transaction_meter_values(transaction=transaction)
        page = self.paginate_queryset(self.filter_queryset(values))
        return self.get_paginated_response(MeterValueSerializer(page, many=True).data)

    @extend_schema(request=TransactionCloseSerializer, responses=TransactionSerializer)
    @action(
        detail=True,
        methods=["post"],
        url_path="close",
        serializer_class=TransactionCloseSerializer,
        filterset_class=None,
    )
    def close(self, request: Request, pk: str | None = None) -> Response:
        """Close a session the charger never stopped: flagged as closed by the server, by this
        token. 409 when it is already stopped."""
        session = self.get_object()
        body = TransactionCloseSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        client = request.user
        assert isinstance(client, TenantClient)  # noqa: S101 - IsTenantClient let it in
        label = f" ({client.token.label})" if client.token.label else ""
        closed = transaction_close(
            transaction=session,
            closed_by=f"api:token {client.token.prefix}{label}",
            **{key: value for key, value in body.validated_data.items() if value is not None},
        )
        return Response(TransactionSerializer(closed).data)
