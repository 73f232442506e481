"""``/api/v1/webhooks/`` and ``/api/v1/events/``: a tenant's endpoints, its event log, the
delivery log and replays."""

from django.db.models import Prefetch, QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.generics import get_object_or_404
from rest_framework.request import Request
from rest_framework.response import Response

from csms.api.viewsets import TenantScopedModelViewSet, TenantScopedReadOnlyViewSet
from csms.webhooks.api.serializers import (
    DeliverySerializer,
    EventReplaySerializer,
    EventSerializer,
    EventsReplaySerializer,
    ReplayResultSerializer,
    WebhookEndpointCreatedSerializer,
    WebhookEndpointSerializer,
)
from csms.webhooks.event_types import EventType
from csms.webhooks.models import Delivery, DeliveryAttempt, DeliveryStatus, Event, WebhookEndpoint
from csms.webhooks.services.endpoints import webhook_endpoint_delete, webhook_endpoint_ping
from csms.webhooks.services.events import event_replay, events_replay

UUID_PATTERN = "[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"


class WebhookEndpointViewSet(
    # The scoped base comes first: it filters every queryset by the caller's tenant.
    TenantScopedModelViewSet,
):
    """The tenant's webhook endpoints. The signing secret is shown once, in the answer to the
    POST that created the endpoint."""

    queryset = WebhookEndpoint.objects.all()
    serializer_class = WebhookEndpointSerializer
    filterset_class: type[filters.FilterSet] | None = None
    # The endpoints' own: derived from the serializer (csms.api.lists); the deliveries action
    # names its own.
    search_fields: list[str] | None = None
    ordering_fields: list[str] | None = None
    lookup_value_regex = "[0-9]+"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    @extend_schema(responses={201: WebhookEndpointCreatedSerializer})
    def create(self, request: Request) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint = serializer.save(tenant=self.tenant)
        created = WebhookEndpointCreatedSerializer(endpoint, context=self.get_serializer_context())
        return Response(created.data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance: WebhookEndpoint) -> None:
        webhook_endpoint_delete(endpoint=instance)

    @extend_schema(
        request=None,
        responses={
            202: OpenApiResponse(EventSerializer, description="The ping event, being delivered.")
        },
    )
    @action(detail=True, methods=["post"], url_path="test", url_name="test")
    def test(self, request: Request, pk: str | None = None) -> Response:
        """Send a ``ping`` event to this endpoint (see its deliveries for the outcome)."""
        event = webhook_endpoint_ping(endpoint=self.get_object())
        return Response(EventSerializer(event).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        responses=DeliverySerializer(many=True),
        parameters=[
            OpenApiParameter(
                "status", enum=DeliveryStatus.values, description="Only deliveries in this status."
            )
        ],
    )
    @action(
        detail=True,
        methods=["get"],
        url_path="deliveries",
        url_name="deliveries",
        serializer_class=DeliverySerializer,
        search_fields=["event__type", "last_error"],
        ordering_fields=["created_at", "delivered_at", "status", "attempts", "next_attempt_at"],
    )
    def deliveries(self, request: Request, pk: str | None = None) -> Response:
        """The delivery log of this endpoint, newest first, with every attempt."""
        # Not get_object(): this action's search and ordering are the deliveries'.
        endpoint = get_object_or_404(self.get_queryset(), pk=pk)
        deliveries: QuerySet[Delivery] = (
            Delivery.objects.filter(endpoint=endpoint)
            .select_related("event")
            .prefetch_related(
                Prefetch("attempt_log", queryset=DeliveryAttempt.objects.order_by("attempt"))
            )
        )
        wanted = request.query_params.get("status")
        if wanted:
            if wanted not in DeliveryStatus.values:
                raise ValidationError({"status": [f"Not one of {', '.join(DeliveryStatus)}."]})
            deliveries = deliveries.filter(status=wanted)
        page = self.paginate_queryset(self.filter_queryset(deliveries))
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)


class EventFilter(filters.FilterSet):
    type = filters.MultipleChoiceFilter(
        choices=EventType.choices, help_text="Event type (repeat for several)."
    )
    created_after = filters.IsoDateTimeFilter(
        field_name="created_at", lookup_expr="gte", help_text="ISO 8601; inclusive."
    )
    created_before = filters.IsoDateTimeFilter(
        field_name="created_at", lookup_expr="lt", help_text="ISO 8601; exclusive."
    )
    charge_point = filters.CharFilter(
        field_name="charge_point__identity", help_text="The charge point's identity."
    )

    class Meta:
        model = Event
        fields = ["type", "created_after", "created_before", "charge_point"]


class EventViewSet(TenantScopedReadOnlyViewSet):
    """The tenant's events (those that had a subscribed endpoint when they happened), newest
    first, in the envelope that webhooks carry."""

    queryset = Event.objects.select_related("tenant")
    serializer_class = EventSerializer
    filterset_class = EventFilter
    lookup_value_regex = UUID_PATTERN

    @extend_schema(request=EventReplaySerializer, responses={202: ReplayResultSerializer})
    @action(
        detail=True,
        methods=["post"],
        url_path="replay",
        url_name="replay",
        serializer_class=EventReplaySerializer,
        filterset_class=None,
    )
    def replay(self, request: Request, pk: str | None = None) -> Response:
        """Send this event again (same ``webhook-id``)."""
        event = self.get_object()
        serializer = EventReplaySerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        deliveries = event_replay(event=event, endpoint=serializer.validated_data.get("endpoint"))
        return Response({"events": 1, "deliveries": deliveries}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=EventsReplaySerializer,
        responses={202: ReplayResultSerializer},
        operation_id="v1_events_replay_range_create",
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="replay",
        url_name="replay-range",
        serializer_class=EventsReplaySerializer,
        filterset_class=None,
    )
    def replay_range(self, request: Request) -> Response:
        """Send every event of a time range again, oldest first."""
        serializer = EventsReplaySerializer(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        events, deliveries = events_replay(tenant=self.tenant, **serializer.validated_data)
        return Response(
            {"events": events, "deliveries": deliveries}, status=status.HTTP_202_ACCEPTED
        )
