"""API endpoints that belong to the platform rather than to an app."""

from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from csms.tenancy.authentication import TenantClient


class TenantInfoSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    unknown_charge_point_policy = serializers.CharField()
    heartbeat_interval = serializers.IntegerField()
    token_prefix = serializers.CharField()


class CurrentTenantView(APIView):
    """The tenant the presented token belongs to (a cheap way to check a token)."""

    serializer_class = TenantInfoSerializer

    def get(self, request: Request) -> Response:
        client: TenantClient = request.user
        tenant = client.tenant
        return Response(
            TenantInfoSerializer(
                {
                    "slug": tenant.slug,
                    "name": tenant.name,
                    "unknown_charge_point_policy": tenant.unknown_charge_point_policy,
                    "heartbeat_interval": tenant.heartbeat_interval,
                    "token_prefix": client.token.prefix,
                }
            ).data
        )
