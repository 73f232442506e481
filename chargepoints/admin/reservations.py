"""Staff admin of reservations: read only, and cancelled through the same service as the API
(CancelReservation)."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from chargepoints.models import Reservation
from chargepoints.reservations.services import reservation_cancel
from csms.admin import ReadOnlyAdminMixin
from csms.errors import DomainError


@admin.register(Reservation)
class ReservationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "reservation_id",
        "tenant",
        "charge_point",
        "connector_id",
        "id_tag",
        "status",
        "expiry_date",
        "created_at",
    ]
    list_filter = ["status", "tenant"]
    search_fields = ["charge_point__identity", "id_tag", "reservation_id"]
    list_select_related = ["tenant", "charge_point"]
    actions = ["cancel_reservations"]
    readonly_fields = [
        "tenant",
        "charge_point",
        "connector_id",
        "id_tag",
        "parent_id_tag",
        "expiry_date",
        "reservation_id",
        "status",
        "reserve_command",
        "cancel_command",
        "transaction",
        "created_at",
        "updated_at",
    ]

    @admin.action(description="Cancel selected reservations (CancelReservation)")
    def cancel_reservations(self, request: HttpRequest, queryset: QuerySet[Reservation]) -> None:
        sent = 0
        for reservation in queryset.filter(status__in=Reservation.ACTIVE_STATUSES):
            try:
                reservation_cancel(reservation=reservation, requested_by_user=request.user)
            except DomainError as exc:
                self.message_user(request, f"{reservation}: {exc.message}", messages.WARNING)
            else:
                sent += 1
        self.message_user(request, f"CancelReservation sent for {sent} reservation(s).")
