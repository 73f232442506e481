"""Serializers of the webhooks API. The endpoint secret is only in the create answer."""

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from csms.webhooks.addresses import UnsafeUrlError, url_check
from csms.webhooks.event_types import SUBSCRIBABLE_CHOICES, EventType
from csms.webhooks.models import Delivery, DeliveryAttempt, Event, WebhookEndpoint
from csms.webhooks.services.endpoints import webhook_endpoint_create, webhook_endpoint_update


class WebhookEndpointSerializer(serializers.ModelSerializer):
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=SUBSCRIBABLE_CHOICES),
        required=False,
        allow_empty=True,
        help_text="Event types to receive; empty: all of them except the opt-in "
        "transaction.meter_values.",
    )

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "description",
            "event_types",
            "active",
            "disabled_reason",
            "disabled_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "disabled_reason", "disabled_at", "created_at", "updated_at"]
        extra_kwargs = {
            "url": {"help_text": "http(s) URL that resolves to public addresses only."},
            "active": {
                "help_text": "false: nothing is sent. Set true again after the platform "
                "disabled the endpoint (see disabled_reason)."
            },
        }

    def validate_url(self, value: str) -> str:
        if self.instance is not None and value == self.instance.url:
            return value
        try:
            url_check(value)
        except UnsafeUrlError as exc:
            raise serializers.ValidationError(str(exc)) from exc
        return value

    def create(self, validated_data: dict[str, Any]) -> WebhookEndpoint:
        return webhook_endpoint_create(**validated_data)

    def update(self, instance: WebhookEndpoint, validated_data: dict[str, Any]) -> WebhookEndpoint:
        return webhook_endpoint_update(endpoint=instance, **validated_data)


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(
        read_only=True,
        help_text="The signing secret (Standard Webhooks, whsec_...). Shown only in this answer: "
        "store it now.",
    )

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]


class EventSerializer(serializers.ModelSerializer):
    type = serializers.ChoiceField(choices=EventType.choices, read_only=True)
    tenant = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    data = serializers.JSONField(read_only=True)

    class Meta:
        model = Event
        fields = ["id", "type", "created_at", "tenant", "data"]
        read_only_fields = fields


class DeliveryAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeliveryAttempt
        fields = [
            "attempt",
            "started_at",
            "status_code",
            "duration_ms",
            "response_excerpt",
            "error",
        ]
        read_only_fields = fields


class DeliverySerializer(serializers.ModelSerializer):
    event_type = serializers.ChoiceField(
        source="event.type", choices=EventType.choices, read_only=True
    )
    attempt_log = DeliveryAttemptSerializer(many=True, read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "endpoint",
            "event",
            "event_type",
            "status",
            "replay",
            "attempts",
            "next_attempt_at",
            "last_status_code",
            "last_error",
            "delivered_at",
            "created_at",
            "attempt_log",
        ]
        read_only_fields = fields


@extend_schema_field(OpenApiTypes.INT)
class TenantEndpointField(serializers.PrimaryKeyRelatedField):
    """One of the caller's own endpoints."""

    def get_queryset(self) -> Any:
        return WebhookEndpoint.objects.filter(tenant=self.context["tenant"])


class EventReplaySerializer(serializers.Serializer):
    endpoint = TenantEndpointField(
        required=False,
        allow_null=True,
        help_text="Only to this endpoint; omitted: every active endpoint subscribed to the type.",
    )


class EventsReplaySerializer(EventReplaySerializer):
    created_after = serializers.DateTimeField(help_text="ISO 8601; inclusive.")
    created_before = serializers.DateTimeField(help_text="ISO 8601; exclusive.")
    type = serializers.ChoiceField(
        choices=EventType.choices, required=False, help_text="Only events of this type."
    )


class ReplayResultSerializer(serializers.Serializer):
    events = serializers.IntegerField(help_text="Events replayed.")
    deliveries = serializers.IntegerField(help_text="Deliveries created (queued at once).")
