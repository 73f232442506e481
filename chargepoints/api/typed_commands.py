"""Typed endpoints for the daily commands, beside the raw ``commands/`` endpoint: remote start,
remote stop, reset, unlock, change availability (``/charge-points/{identity}/<action>/``).

Each takes its own snake_case fields, builds the OCPP 1.6 request and sends it through
``command_dispatch`` like the raw endpoint (the same schema check, the same outbox); the answer
is the command, 201 once the charge point answered within ``?wait=``, else 202 — at once when
the charge point is offline (``csms.api.waiting``).
"""

from typing import Any, ClassVar

from adrf.views import APIView as AsyncAPIView
from asgiref.sync import sync_to_async
from django.db import transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from chargepoints.api.commands import CommandSerializer, command_answer
from chargepoints.commands.dispatch import command_dispatch
from chargepoints.models import ChargePoint, Command, IdTag
from csms.api.viewsets import TenantScopedMixin
from csms.api.waiting import WAIT_PARAMETER, wait_seconds
from csms.ocpp.compat import INT32_MAX
from csms.tenancy.authentication import TenantClient
from transactions.models import Transaction

# --- Requests -----------------------------------------------------------------------------------


class TypedCommandSerializer(serializers.Serializer):
    """A typed command's fields; ``payload()`` is the OCPP request they make."""

    def payload(self, charge_point: ChargePoint) -> dict[str, Any]:
        raise NotImplementedError


class RemoteStartSerializer(TypedCommandSerializer):
    id_tag = serializers.CharField(
        min_length=1, max_length=20, trim_whitespace=False, help_text="An idTag of the tenant."
    )
    connector_id = serializers.IntegerField(
        min_value=1, max_value=INT32_MAX, required=False, help_text="Omitted: the charger chooses."
    )
    charging_profile = serializers.JSONField(
        required=False,
        help_text="A TxProfile as OCPP's chargingProfile object (camelCase), sent as given.",
    )

    def validate_id_tag(self, value: str) -> str:
        tenant = self.context["tenant"]
        if not IdTag.objects.filter(tenant=tenant, id_tag__iexact=value).exists():
            raise serializers.ValidationError(f"No idTag {value} in this tenant.")
        return value

    def payload(self, charge_point: ChargePoint) -> dict[str, Any]:
        data = self.validated_data
        payload: dict[str, Any] = {"idTag": data["id_tag"]}
        if "connector_id" in data:
            payload["connectorId"] = data["connector_id"]
        if "charging_profile" in data:
            payload["chargingProfile"] = data["charging_profile"]
        return payload


class RemoteStopSerializer(TypedCommandSerializer):
    transaction_id = serializers.IntegerField(
        min_value=0,
        max_value=INT32_MAX,
        required=False,
        help_text="Omitted: the charge point's one live session.",
    )

    def payload(self, charge_point: ChargePoint) -> dict[str, Any]:
        transaction_id = self.validated_data.get("transaction_id")
        if transaction_id is None:
            live = list(
                Transaction.objects.filter(
                    charge_point=charge_point, stopped_at__isnull=True
                ).values_list("pk", flat=True)[:2]
            )
            if len(live) != 1:
                raise serializers.ValidationError(
                    {
                        "transaction_id": "This charge point has no live session."
                        if not live
                        else "This charge point has several live sessions: name one."
                    }
                )
            transaction_id = live[0]
        return {"transactionId": transaction_id}


class ResetSerializer(TypedCommandSerializer):
    type = serializers.ChoiceField(
        choices=["Soft", "Hard"], default="Soft", help_text="Soft: a restart; Hard: a reboot."
    )

    def payload(self, charge_point: ChargePoint) -> dict[str, Any]:
        return {"type": self.validated_data["type"]}


class UnlockSerializer(TypedCommandSerializer):
    connector_id = serializers.IntegerField(min_value=1, max_value=INT32_MAX)

    def payload(self, charge_point: ChargePoint) -> dict[str, Any]:
        return {"connectorId": self.validated_data["connector_id"]}


class ChangeAvailabilitySerializer(TypedCommandSerializer):
    connector_id = serializers.IntegerField(
        min_value=0, max_value=INT32_MAX, default=0, help_text="0: the whole charge point."
    )
    type = serializers.ChoiceField(choices=["Operative", "Inoperative"])

    def payload(self, charge_point: ChargePoint) -> dict[str, Any]:
        return {
            "connectorId": self.validated_data["connector_id"],
            "type": self.validated_data["type"],
        }


# --- Views --------------------------------------------------------------------------------------


class TypedCommandView(TenantScopedMixin, AsyncAPIView):
    """POST the fields of one action; answered with the command (see the module docstring)."""

    ocpp_action: ClassVar[str]
    request_serializer: ClassVar[type[TypedCommandSerializer]]

    async def post(self, request: Request, identity: str) -> Response:
        wait = wait_seconds(request)
        command = await sync_to_async(self._dispatch)(request, identity)
        return await command_answer(command, wait=wait)

    def _dispatch(self, request: Request, identity: str) -> Command:
        charge_point = get_object_or_404(ChargePoint, tenant=self.tenant, identity=identity)
        serializer = self.request_serializer(data=request.data, context={"tenant": self.tenant})
        serializer.is_valid(raise_exception=True)
        client: TenantClient = request.user
        with transaction.atomic():
            return command_dispatch(
                charge_point=charge_point,
                action=self.ocpp_action,
                payload=serializer.payload(charge_point),
                requested_by_token=client.token,
            )


def _schema(serializer: type[TypedCommandSerializer], summary: str) -> Any:
    return extend_schema(
        request=serializer,
        responses={201: CommandSerializer, 202: CommandSerializer},
        parameters=[WAIT_PARAMETER],
        summary=summary,
    )


class RemoteStartView(TypedCommandView):
    ocpp_action, request_serializer = "RemoteStartTransaction", RemoteStartSerializer

    @_schema(RemoteStartSerializer, "Remote start a session (OCPP 1.6 §5.11)")
    async def post(self, request: Request, identity: str) -> Response:
        return await super().post(request, identity)


class RemoteStopView(TypedCommandView):
    ocpp_action, request_serializer = "RemoteStopTransaction", RemoteStopSerializer

    @_schema(RemoteStopSerializer, "Remote stop a session (OCPP 1.6 §5.12)")
    async def post(self, request: Request, identity: str) -> Response:
        return await super().post(request, identity)


class ResetView(TypedCommandView):
    ocpp_action, request_serializer = "Reset", ResetSerializer

    @_schema(ResetSerializer, "Reset the charge point (OCPP 1.6 §5.14)")
    async def post(self, request: Request, identity: str) -> Response:
        return await super().post(request, identity)


class UnlockView(TypedCommandView):
    ocpp_action, request_serializer = "UnlockConnector", UnlockSerializer

    @_schema(UnlockSerializer, "Unlock a connector (OCPP 1.6 §5.18)")
    async def post(self, request: Request, identity: str) -> Response:
        return await super().post(request, identity)


class ChangeAvailabilityView(TypedCommandView):
    ocpp_action, request_serializer = "ChangeAvailability", ChangeAvailabilitySerializer

    @_schema(ChangeAvailabilitySerializer, "Make a connector or the charge point (in)operative")
    async def post(self, request: Request, identity: str) -> Response:
        return await super().post(request, identity)


TYPED_COMMAND_VIEWS: dict[str, type[TypedCommandView]] = {
    "remote-start": RemoteStartView,
    "remote-stop": RemoteStopView,
    "reset": ResetView,
    "unlock": UnlockView,
    "change-availability": ChangeAvailabilityView,
}
