"""``/api/v1/alerts/`` and ``/api/v1/alerts/{id}/``: what the tenant's alert rules opened."""

from django_filters import rest_framework as filters
from rest_framework import serializers

from csms.alerts.models import Alert, AlertKind, AlertState
from csms.api.viewsets import TenantScopedReadOnlyViewSet


class AlertSerializer(serializers.ModelSerializer):
    charge_point = serializers.CharField(source="identity", allow_blank=True)
    rule = serializers.CharField(source="rule.name")

    class Meta:
        model = Alert
        fields = [
            "id",
            "rule",
            "kind",
            "subject",
            "charge_point",
            "state",
            "detail",
            "occurrences",
            "raised_at",
            "opened_at",
            "closed_at",
            "close_reason",
        ]
        read_only_fields = fields


class AlertFilter(filters.FilterSet):
    state = filters.ChoiceFilter(choices=AlertState.choices)
    kind = filters.ChoiceFilter(choices=AlertKind.choices)
    charge_point = filters.CharFilter(field_name="identity")
    raised_after = filters.IsoDateTimeFilter(field_name="raised_at", lookup_expr="gte")
    raised_before = filters.IsoDateTimeFilter(field_name="raised_at", lookup_expr="lt")

    class Meta:
        model = Alert
        fields = ["state", "kind", "charge_point", "raised_after", "raised_before"]


class AlertViewSet(TenantScopedReadOnlyViewSet):
    """Alerts opened by the tenant's rules; an open one is closed when its condition clears
    (``closed_at``, ``close_reason``). Newest first."""

    queryset = Alert.objects.select_related("rule").order_by("-raised_at", "-id")
    serializer_class = AlertSerializer
    filterset_class = AlertFilter
    lookup_value_regex = "[0-9]+"
