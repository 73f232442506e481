"""Tenant API: a charge point's local authorization list state, and forcing a sync."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chargepoints.authorization.local_list_sync import local_list_sync
from chargepoints.models import ChargePoint, LocalListResult, LocalListState
from csms.api.viewsets import TenantScopedMixin
from csms.tenancy.authentication import TenantClient


class LocalListStateSerializer(serializers.ModelSerializer):
    size = serializers.IntegerField(read_only=True, help_text="Entries the charge point holds.")
    last_result = serializers.ChoiceField(choices=["", *LocalListResult.values], read_only=True)
    in_progress = serializers.SerializerMethodField()
    command = serializers.IntegerField(
        source="command_id",
        read_only=True,
        allow_null=True,
        help_text="The command the sync in progress waits for.",
    )

    class Meta:
        model = LocalListState
        fields = [
            "version",
            "size",
            "truncated",
            "not_supported",
            "last_result",
            "last_error",
            "last_attempt_at",
            "last_synced_at",
            "in_progress",
            "command",
        ]
        read_only_fields = fields

    def get_in_progress(self, state: LocalListState) -> bool:
        return state.command is not None and not state.command.finished


class LocalListSyncView(TenantScopedMixin, APIView):
    """``/charge-points/{identity}/local-list/sync/``: start a sync now (202), even for a
    charge point that answered NotSupported before; a sync under way is not started twice."""

    @extend_schema(request=None, responses={202: LocalListStateSerializer})
    def post(self, request: Request, identity: str) -> Response:
        charge_point = get_object_or_404(ChargePoint, tenant=self.tenant, identity=identity)
        client: TenantClient = request.user
        state = local_list_sync(
            charge_point=charge_point, force=True, requested_by_token=client.token
        )
        return Response(LocalListStateSerializer(state).data, status=status.HTTP_202_ACCEPTED)
