"""Tenant API: reservations (``/reservations/``).

POST sends ReserveNow and DELETE sends CancelReservation through the command outbox; both take
``?wait=N`` like the commands API (``csms.api.waiting``) and are async views for the same
reason: waiting for a charge point must not hold the thread that sync views and ORM work share
under ASGI.
"""

from operator import attrgetter

from adrf.views import APIView as AsyncAPIView
from asgiref.sync import sync_to_async
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from chargepoints.api.commands import CommandSerializer
from chargepoints.api.groups import TenantChargePointField
from chargepoints.models import Reservation, ReservationStatus
from chargepoints.reservations.services import reservation_cancel, reservation_create
from csms.api.lists import LIST_PARAMETERS, StrictPageNumberPagination, paginated_list
from csms.api.viewsets import TenantScopedMixin
from csms.api.waiting import WAIT_PARAMETER, answer_after_wait, wait_seconds
from csms.ocpp.compat import INT32_MAX
from csms.tenancy.authentication import TenantClient


class ReservationCommandSerializer(CommandSerializer):
    class Meta(CommandSerializer.Meta):
        fields = ["id", "action", "status", "response", "error", "created_at", "completed_at"]
        read_only_fields = fields


class ReservationSerializer(serializers.ModelSerializer):
    charge_point = serializers.SlugRelatedField(slug_field="identity", read_only=True)
    transaction = serializers.IntegerField(
        source="transaction_id", read_only=True, allow_null=True, help_text="OCPP transactionId."
    )
    reserve_command = ReservationCommandSerializer(read_only=True, allow_null=True)
    cancel_command = ReservationCommandSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Reservation
        fields = [
            "id",
            "reservation_id",
            "charge_point",
            "connector_id",
            "id_tag",
            "parent_id_tag",
            "expiry_date",
            "status",
            "transaction",
            "reserve_command",
            "cancel_command",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ReservationRequestSerializer(serializers.Serializer):
    charge_point = TenantChargePointField(help_text="Identity of the charge point.")
    connector_id = serializers.IntegerField(
        min_value=0, max_value=INT32_MAX, default=0, help_text="0 = any connector."
    )
    id_tag = serializers.CharField(min_length=1, max_length=20, trim_whitespace=False)
    expiry_date = serializers.DateTimeField()


class ReservationFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=ReservationStatus.choices)
    charge_point = filters.CharFilter(field_name="charge_point__identity", help_text="Identity.")

    class Meta:
        model = Reservation
        fields = ["status", "charge_point"]


def _reservations() -> QuerySet[Reservation]:
    return Reservation.objects.select_related("charge_point", "reserve_command", "cancel_command")


class _ReservationView(TenantScopedMixin, AsyncAPIView):
    async def _answer(
        self, reservation_id: int, command: str, wait: float, *, done: int
    ) -> Response:
        """The reservation once its ``command`` finished or ``wait`` passed: ``done``, or 202
        while the charge point has not answered."""

        def read() -> Reservation:
            return _reservations().get(pk=reservation_id)

        return await answer_after_wait(
            await sync_to_async(read)(),
            wait=wait,
            command_of=attrgetter(command),
            represent=lambda reservation: ReservationSerializer(reservation).data,
            # The answer's receivers ran in the transaction that finished the command: re-read.
            reread=read,
            done=done,
        )


class ReservationListView(_ReservationView):
    """``/reservations/``: the tenant's reservations, or make one (sends ReserveNow)."""

    pagination_class = StrictPageNumberPagination
    filterset_class = ReservationFilter
    search_fields = ["id_tag", "charge_point__identity", "status"]
    ordering_fields = ["id", "reservation_id", "created_at", "expiry_date", "status"]

    @extend_schema(
        responses=ReservationSerializer(many=True),
        parameters=[
            *LIST_PARAMETERS,
            OpenApiParameter("status", str, enum=ReservationStatus.values),
            OpenApiParameter("charge_point", str, description="Charge point identity."),
        ],
    )
    async def get(self, request: Request) -> Response:
        return await sync_to_async(self._list)(request)

    def _list(self, request: Request) -> Response:
        return paginated_list(
            self,
            request,
            _reservations().filter(tenant=self.tenant),
            lambda page: ReservationSerializer(page, many=True).data,
        )

    @extend_schema(
        request=ReservationRequestSerializer,
        responses={201: ReservationSerializer, 202: ReservationSerializer},
        parameters=[WAIT_PARAMETER],
    )
    async def post(self, request: Request) -> Response:
        wait = wait_seconds(request)
        reservation = await sync_to_async(self._create)(request)
        return await self._answer(
            reservation.pk, "reserve_command", wait, done=status.HTTP_201_CREATED
        )

    def _create(self, request: Request) -> Reservation:
        serializer = ReservationRequestSerializer(
            data=request.data, context={"tenant": self.tenant}
        )
        serializer.is_valid(raise_exception=True)
        client: TenantClient = request.user
        return reservation_create(**serializer.validated_data, requested_by_token=client.token)


class ReservationDetailView(_ReservationView):
    """``/reservations/{id}/``: one reservation; DELETE sends CancelReservation."""

    def _get(self, pk: int) -> Reservation:
        return get_object_or_404(_reservations(), tenant=self.tenant, pk=pk)

    @extend_schema(responses=ReservationSerializer)
    async def get(self, request: Request, pk: int) -> Response:
        return await sync_to_async(lambda: Response(ReservationSerializer(self._get(pk)).data))()

    @extend_schema(
        request=None,
        responses={200: ReservationSerializer, 202: ReservationSerializer},
        parameters=[WAIT_PARAMETER],
    )
    async def delete(self, request: Request, pk: int) -> Response:
        wait = wait_seconds(request)
        client: TenantClient = request.user

        def cancel() -> Reservation:
            return reservation_cancel(reservation=self._get(pk), requested_by_token=client.token)

        reservation = await sync_to_async(cancel)()
        return await self._answer(reservation.pk, "cancel_command", wait, done=status.HTTP_200_OK)
