"""Tenant API: commands. Send any Central-System-initiated action and see what the charge
point said.

The create view is async so that ``?wait=`` awaits the answer without holding the thread that
sync views and ORM work share under ASGI (``csms.api.waiting``).
"""

from typing import Any

from adrf.views import APIView as AsyncAPIView
from asgiref.sync import sync_to_async
from django.db import transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from chargepoints.commands.dispatch import (
    CENTRAL_SYSTEM_ACTIONS,
    command_dispatch,
    command_validate,
)
from chargepoints.configuration.mirror import configuration_key_change
from chargepoints.models import ChargePoint, Command, CommandStatus
from csms.api.lists import LIST_PARAMETERS, StrictPageNumberPagination, paginated_list
from csms.api.viewsets import TenantScopedMixin, TenantScopedViewSet
from csms.api.waiting import WAIT_PARAMETER, answer_after_wait, wait_seconds
from csms.tenancy.authentication import TenantClient

CHANGE_CONFIGURATION = "ChangeConfiguration"


class CommandErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    description = serializers.CharField()
    details = serializers.JSONField(allow_null=True)


class CommandSerializer(serializers.ModelSerializer):
    charge_point = serializers.SlugRelatedField(slug_field="identity", read_only=True)
    error = serializers.SerializerMethodField()

    class Meta:
        model = Command
        fields = [
            "id",
            "charge_point",
            "action",
            "payload",
            "status",
            "response",
            "error",
            "requested_by",
            "forced",
            "created_at",
            "sent_at",
            "completed_at",
            "expires_at",
        ]
        read_only_fields = fields

    @extend_schema(responses=CommandErrorSerializer(allow_null=True))
    def get_error(self, command: Command) -> dict[str, Any] | None:
        if not (command.error_code or command.error_description):
            return None
        return {
            "code": command.error_code,
            "description": command.error_description,
            "details": command.error_details or {},
        }


class CommandRequestSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=sorted(CENTRAL_SYSTEM_ACTIONS))
    payload = serializers.JSONField(default=dict)
    force = serializers.BooleanField(
        default=False,
        help_text="ChangeConfiguration only: send the value as given, unchecked by the "
        "catalogue and by what the charge point reported; recorded on the command.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["force"] and attrs["action"] != CHANGE_CONFIGURATION:
            raise serializers.ValidationError({"force": "Only a ChangeConfiguration is forced."})
        return attrs


async def command_answer(command: Command, *, wait: float) -> Response:
    """The command once the charge point answered it (201) or ``wait`` seconds passed (202)."""
    return await answer_after_wait(
        command,
        wait=wait,
        command_of=lambda sent: sent,
        represent=lambda sent: CommandSerializer(sent).data,
    )


COMMAND_SEARCH_FIELDS = ["action", "status", "charge_point__identity", "error_code"]
COMMAND_ORDERING_FIELDS = ["id", "created_at", "sent_at", "completed_at", "status", "action"]


class ChargePointCommandsView(TenantScopedMixin, AsyncAPIView):
    """``/charge-points/{identity}/commands/``: list this charge point's commands, or send one."""

    pagination_class = StrictPageNumberPagination
    filterset_fields = ["status", "action"]
    search_fields = COMMAND_SEARCH_FIELDS
    ordering_fields = COMMAND_ORDERING_FIELDS

    def charge_point(self, identity: str) -> ChargePoint:
        return get_object_or_404(ChargePoint, tenant=self.tenant, identity=identity)

    @extend_schema(
        responses=CommandSerializer(many=True),
        parameters=[
            *LIST_PARAMETERS,
            OpenApiParameter("status", str, enum=CommandStatus.values),
            OpenApiParameter("action", str),
        ],
    )
    async def get(self, request: Request, identity: str) -> Response:
        return await sync_to_async(self._list)(request, identity)

    def _list(self, request: Request, identity: str) -> Response:
        queryset = Command.objects.filter(charge_point=self.charge_point(identity)).select_related(
            "charge_point"
        )
        return paginated_list(
            self, request, queryset, lambda page: CommandSerializer(page, many=True).data
        )

    @extend_schema(
        request=CommandRequestSerializer,
        responses={201: CommandSerializer, 202: CommandSerializer},
        parameters=[WAIT_PARAMETER],
    )
    async def post(self, request: Request, identity: str) -> Response:
        wait = wait_seconds(request)
        command = await sync_to_async(self._dispatch)(request, identity)
        return await command_answer(command, wait=wait)

    def _dispatch(self, request: Request, identity: str) -> Command:
        serializer = CommandRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        action, payload = serializer.validated_data["action"], serializer.validated_data["payload"]
        client: TenantClient = request.user
        charge_point = self.charge_point(identity)
        with transaction.atomic():
            if action == CHANGE_CONFIGURATION:
                # What the charge point reported counts too (the configuration service), as on
                # the configuration endpoint; the schema first, so the key and value are there.
                command_validate(action=action, payload=payload, force=True)
                return configuration_key_change(
                    charge_point=charge_point,
                    key=payload["key"],
                    value=payload["value"],
                    force=serializer.validated_data["force"],
                    requested_by_token=client.token,
                )
            return command_dispatch(
                charge_point=charge_point,
                action=action,
                payload=payload,
                requested_by_token=client.token,
            )


class CommandViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    """``/commands/`` and ``/commands/{id}/``: every command of the tenant."""

    queryset = Command.objects.select_related("charge_point")
    serializer_class = CommandSerializer
    filterset_fields = ["status", "action"]
    search_fields = COMMAND_SEARCH_FIELDS
    ordering_fields = COMMAND_ORDERING_FIELDS
