"""Staff admin of webhook endpoints, the event log, deliveries and their attempts."""

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from csms.admin import LimitedInlineFormSet, ReadOnlyAdminMixin, ReadOnlyInline
from csms.errors import DomainError
from csms.webhooks.addresses import UnsafeUrlError, url_check
from csms.webhooks.event_types import SUBSCRIBABLE_CHOICES
from csms.webhooks.models import Delivery, DeliveryAttempt, Event, WebhookEndpoint
from csms.webhooks.services.endpoints import (
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_ping,
    webhook_endpoint_update,
)
from csms.webhooks.services.events import events_redeliver

# What staff set; the secret is generated, the failure accounting is the platform's.
EDITABLE_FIELDS = ["tenant", "url", "description", "event_types", "active"]


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(max_length=2000, assume_scheme="https")
    event_types = forms.MultipleChoiceField(
        choices=SUBSCRIBABLE_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every type except the opt-in transaction.meter_values.",
    )

    class Meta:
        model = WebhookEndpoint
        fields = EDITABLE_FIELDS

    def clean_url(self) -> str:
        url: str = self.cleaned_data["url"]
        if self.instance.pk and url == self.instance.url:
            return url
        try:
            url_check(url)
        except UnsafeUrlError as exc:
            raise forms.ValidationError(str(exc)) from exc
        return url


class DeliveryInline(ReadOnlyInline):
    model = Delivery
    formset = LimitedInlineFormSet
    fields = ["id", "event", "status", "attempts", "last_status_code", "last_error", "created_at"]
    ordering = ["-id"]
    show_change_link = True


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ["id", "tenant", "url", "active", "disabled_reason", "created_at"]
    list_filter = ["active", "tenant"]
    search_fields = ["url", "description"]
    readonly_fields = [
        "disabled_reason",
        "disabled_at",
        "consecutive_failures",
        "failing_since",
        "created_at",
        "updated_at",
    ]
    inlines = [DeliveryInline]
    actions = ["send_test_event"]

    def get_readonly_fields(
        self, request: HttpRequest, obj: WebhookEndpoint | None = None
    ) -> list[str]:
        # An endpoint stays with the tenant it was made for (its secret is that tenant's).
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "tenant"] if obj is not None else fields

    def save_model(
        self, request: HttpRequest, obj: WebhookEndpoint, form: forms.ModelForm, change: bool
    ) -> None:
        data = {f: form.cleaned_data[f] for f in EDITABLE_FIELDS if f in form.cleaned_data}
        try:
            if change:
                # ``obj`` already carries the form's values: the service compares with the row.
                changed = {field: data[field] for field in form.changed_data if field in data}
                stored = WebhookEndpoint.objects.get(pk=obj.pk)
                webhook_endpoint_update(endpoint=stored, **changed)
                return
            created = webhook_endpoint_create(**data)
        except DomainError as exc:  # lost a race with a DNS change since the form's check
            self.message_user(request, exc.message, messages.ERROR)
            return
        obj.pk = created.pk
        # The only time the secret is shown: the integrator needs it to verify signatures.
        self.message_user(
            request,
            f"Signing secret of this endpoint (shown once, store it now): {created.secret}",
            messages.WARNING,
        )

    def delete_model(self, request: HttpRequest, obj: WebhookEndpoint) -> None:
        webhook_endpoint_delete(endpoint=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        for endpoint in queryset:
            webhook_endpoint_delete(endpoint=endpoint)

    @admin.action(description="Send a test (ping) event")
    def send_test_event(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        sent = 0
        for endpoint in queryset:
            try:
                webhook_endpoint_ping(endpoint=endpoint)
                sent += 1
            except DomainError as exc:
                self.message_user(request, f"{endpoint}: {exc.message}", messages.WARNING)
        self.message_user(request, f"Ping events queued for {sent} endpoint(s).")


class EventDeliveryInline(ReadOnlyInline):
    model = Delivery
    fields = ["id", "endpoint", "status", "attempts", "last_status_code", "replay", "created_at"]
    show_change_link = True


@admin.register(Event)
class EventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "type", "tenant", "charge_point", "id"]
    list_filter = ["type", "tenant"]
    date_hierarchy = "created_at"
    search_fields = ["=id"]
    list_select_related = ["tenant", "charge_point"]
    fields = ["id", "tenant", "type", "created_at", "charge_point", "data"]
    readonly_fields = fields
    inlines = [EventDeliveryInline]
    actions = ["replay"]

    @admin.action(description="Replay to the subscribed endpoints (filter a time range first)")
    def replay(self, request: HttpRequest, queryset: QuerySet[Event]) -> None:
        events = list(queryset.order_by("created_at", "id"))
        deliveries = events_redeliver(events=events)
        self.message_user(
            request, f"{len(events)} event(s) replayed: {deliveries} delivery(ies) queued."
        )


class DeliveryAttemptInline(ReadOnlyInline):
    model = DeliveryAttempt
    fields = ["attempt", "started_at", "status_code", "duration_ms", "error", "response_excerpt"]
    ordering = ["attempt"]


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "endpoint",
        "event",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "replay",
        "created_at",
    ]
    list_filter = ["status", "replay", "endpoint__tenant"]
    list_select_related = ["endpoint", "event"]
    fields = [
        "id",
        "endpoint",
        "event",
        "status",
        "replay",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "last_error",
        "delivered_at",
        "created_at",
    ]
    readonly_fields = fields
    inlines = [DeliveryAttemptInline]


@admin.register(DeliveryAttempt)
class DeliveryAttemptAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["delivery", "attempt", "started_at", "status_code", "duration_ms", "error"]
    list_filter = ["status_code"]
    list_select_related = ["delivery"]
    fields = [
        "delivery",
        "attempt",
        "started_at",
        "status_code",
        "duration_ms",
        "error",
        "response_excerpt",
    ]
    readonly_fields = fields
