"""Tenant API of the security extension (issue 19): the security log, the tenant's certificate
authorities, raising a charge point's security profile and its certificates. Thin views: services in
``chargepoints.security``."""

from typing import Any

from django.db import transaction
from django.shortcuts import get_object_or_404
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chargepoints.api.commands import CommandSerializer
from chargepoints.models import (
    AuthorityRole,
    CertificateAuthority,
    ChargePoint,
    ChargePointCertificate,
    InstalledCertificate,
    SecurityEvent,
)
from chargepoints.security.authorities import (
    certificate_authorities_generate,
    certificate_authority_upload,
)
from chargepoints.security.certificates import (
    certificate_delete,
    certificate_install,
    installed_certificates_read,
    sign_certificate_trigger,
)
from chargepoints.security.upgrade_requests import security_profile_upgrade
from csms.api.viewsets import TenantScopedMixin, TenantScopedReadOnlyViewSet, TenantScopedViewSet
from csms.tenancy.authentication import TenantClient

# --- The security log ---------------------------------------------------------------------------


class SecurityEventSerializer(serializers.ModelSerializer):
    charge_point = serializers.CharField(source="identity")
    source = serializers.SerializerMethodField(help_text="charge_point or central_system")

    class Meta:
        model = SecurityEvent
        fields = [
            "id",
            "charge_point",
            "type",
            "critical",
            "tech_info",
            "timestamp",
            "source",
            "source_address",
            "received_at",
        ]
        read_only_fields = fields

    def get_source(self, event: SecurityEvent) -> str:
        return "charge_point" if event.reported_by_charge_point else "central_system"


class SecurityEventFilter(filters.FilterSet):
    charge_point = filters.CharFilter(field_name="identity")
    type = filters.CharFilter(field_name="type")
    critical = filters.BooleanFilter(field_name="critical")
    reported_by_charge_point = filters.BooleanFilter(field_name="reported_by_charge_point")
    after = filters.IsoDateTimeFilter(field_name="timestamp", lookup_expr="gte")
    before = filters.IsoDateTimeFilter(field_name="timestamp", lookup_expr="lt")

    class Meta:
        model = SecurityEvent
        fields = ["charge_point", "type", "critical", "reported_by_charge_point", "after", "before"]


class SecurityEventViewSet(TenantScopedReadOnlyViewSet):
    """The security log, newest first: chargers' SecurityEventNotifications and the Central
    System's own rows (refused handshakes and why, lockouts, rotations, certificates)."""

    queryset = SecurityEvent.objects.order_by("-timestamp", "-id")
    serializer_class = SecurityEventSerializer
    filterset_class = SecurityEventFilter
    lookup_value_regex = "[0-9]+"


# --- Certificate authorities --------------------------------------------------------------------


class CertificateAuthoritySerializer(serializers.ModelSerializer):
    certificate = serializers.CharField(
        source="certificate_pem",
        required=False,
        help_text="PEM: the CA's certificate first, then the chain above it.",
    )
    private_key = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        help_text="PEM (PKCS#8 or traditional), unencrypted; stored encrypted, never returned. "
        "Without it the CA verifies charge points' certificates but cannot sign.",
    )
    generate = serializers.BooleanField(
        write_only=True,
        required=False,
        default=False,
        help_text="Generate a new Central System root and a Charge Point CA below it instead.",
    )
    role = serializers.ChoiceField(choices=AuthorityRole.choices, required=False)
    has_private_key = serializers.BooleanField(read_only=True)

    class Meta:
        model = CertificateAuthority
        fields = [
            "id",
            "role",
            "subject",
            "serial_number",
            "fingerprint_sha256",
            "not_before",
            "not_after",
            "has_private_key",
            "active",
            "certificate",
            "private_key",
            "generate",
            "created_at",
        ]
        read_only_fields = [
            "id",
            "subject",
            "serial_number",
            "fingerprint_sha256",
            "not_before",
            "not_after",
            "has_private_key",
            "active",
            "created_at",
        ]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("generate"):
            if attrs.get("certificate_pem") or attrs.get("private_key"):
                raise serializers.ValidationError(
                    "Either generate the CAs or upload one, not both."
                )
            return attrs
        if not attrs.get("certificate_pem"):
            raise serializers.ValidationError({"certificate": "Required unless generate is true."})
        if not attrs.get("role"):
            raise serializers.ValidationError({"role": "Required when uploading a CA."})
        return attrs


class CertificateAuthorityViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet
):
    """The tenant's CAs: the Central System root chargers trust and the Charge Point CA that
    signs their certificates (and that profile-3 client certificates must chain to)."""

    queryset = CertificateAuthority.objects.order_by("role", "-created_at", "-id")
    serializer_class = CertificateAuthoritySerializer
    filterset_fields = ["role", "active"]
    lookup_value_regex = "[0-9]+"

    @extend_schema(responses={201: CertificateAuthoritySerializer(many=True)})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with transaction.atomic():
            if data.get("generate"):
                created = list(certificate_authorities_generate(tenant=self.tenant))
            else:
                created = [
                    certificate_authority_upload(
                        tenant=self.tenant,
                        role=data["role"],
                        certificate_pem=data["certificate_pem"],
                        private_key_pem=data.get("private_key") or None,
                    )
                ]
        return Response(
            self.get_serializer(created, many=True).data, status=status.HTTP_201_CREATED
        )


# --- Raising a charge point's security profile --------------------------------------------------


class SecurityProfileUpgradeSerializer(serializers.Serializer):
    profile = serializers.ChoiceField(choices=[1, 2, 3])


class SecurityProfileUpgradeView(TenantScopedMixin, APIView):
    """``/charge-points/{identity}/security-profile/``: send ChangeConfiguration(SecurityProfile)
    once its prerequisites hold (400 otherwise); the charge point's ``security_profile`` moves
    up when it reconnects with the new one (``security_profile_pending`` meanwhile)."""

    @extend_schema(request=SecurityProfileUpgradeSerializer, responses={202: CommandSerializer})
    def post(self, request: Request, identity: str) -> Response:
        serializer = SecurityProfileUpgradeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        charge_point = get_object_or_404(
            ChargePoint.objects.select_related("tenant"), tenant=self.tenant, identity=identity
        )
        client: TenantClient = request.user
        with transaction.atomic():
            command = security_profile_upgrade(
                charge_point=charge_point,
                profile=serializer.validated_data["profile"],
                requested_by_token=client.token,
            )
        return Response(CommandSerializer(command).data, status=status.HTTP_202_ACCEPTED)


# --- A charge point's certificates --------------------------------------------------------------


class InstalledCertificateSerializer(serializers.ModelSerializer):
    class Meta:
        model = InstalledCertificate
        fields = [
            "certificate_type",
            "hash_algorithm",
            "issuer_name_hash",
            "issuer_key_hash",
            "serial_number",
            "reported_at",
        ]
        read_only_fields = fields


class IssuedCertificateSerializer(serializers.ModelSerializer):
    class Meta:
        model = ChargePointCertificate
        fields = ["serial_number", "not_before", "not_after", "answer", "created_at"]
        read_only_fields = fields


class ChargePointCertificatesSerializer(serializers.Serializer):
    security_profile = serializers.IntegerField()
    security_profile_pending = serializers.IntegerField(allow_null=True)
    installed = InstalledCertificateSerializer(many=True)
    issued = IssuedCertificateSerializer(many=True)


class CertificateActionSerializer(serializers.Serializer):
    action = serializers.ChoiceField(
        choices=["sign", "install", "delete", "read"],
        help_text="sign: ExtendedTriggerMessage SignChargePointCertificate; install: "
        "InstallCertificate (the tenant's Central System root unless a certificate is given); "
        "delete: DeleteCertificate of the given certificate (hash data computed here); read: "
        "GetInstalledCertificateIds of both types (mirrored).",
    )
    certificate_type = serializers.ChoiceField(
        choices=["CentralSystemRootCertificate", "ManufacturerRootCertificate"],
        default="CentralSystemRootCertificate",
    )
    certificate = serializers.CharField(required=False, help_text="PEM")


class ChargePointCertificatesView(TenantScopedMixin, APIView):
    """``/charge-points/{identity}/certificates/``: GET what the charger reported installed and
    what we signed for it; POST one of the certificate commands (202, through the outbox)."""

    def _charge_point(self, identity: str) -> ChargePoint:
        return get_object_or_404(
            ChargePoint.objects.select_related("tenant"), tenant=self.tenant, identity=identity
        )

    @extend_schema(responses=ChargePointCertificatesSerializer)
    def get(self, request: Request, identity: str) -> Response:
        charge_point = self._charge_point(identity)
        return Response(
            {
                "security_profile": charge_point.security_profile,
                "security_profile_pending": charge_point.security_profile_pending,
                "installed": InstalledCertificateSerializer(
                    charge_point.installed_certificates.all(), many=True
                ).data,
                "issued": IssuedCertificateSerializer(
                    charge_point.certificates.all(), many=True
                ).data,
            }
        )

    @extend_schema(
        request=CertificateActionSerializer, responses={202: CommandSerializer(many=True)}
    )
    def post(self, request: Request, identity: str) -> Response:
        serializer = CertificateActionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        charge_point = self._charge_point(identity)
        client: TenantClient = request.user
        by = {"requested_by_token": client.token}
        with transaction.atomic():
            if data["action"] == "sign":
                commands = [sign_certificate_trigger(charge_point=charge_point, **by)]
            elif data["action"] == "install":
                commands = [
                    certificate_install(
                        charge_point=charge_point,
                        certificate_type=data["certificate_type"],
                        certificate_pem=data.get("certificate"),
                        **by,
                    )
                ]
            elif data["action"] == "delete":
                if not data.get("certificate"):
                    raise serializers.ValidationError({"certificate": "Required to delete one."})
                commands = [
                    certificate_delete(
                        charge_point=charge_point, certificate_pem=data["certificate"], **by
                    )
                ]
            else:
                commands = installed_certificates_read(charge_point=charge_point, **by)
        return Response(
            CommandSerializer(commands, many=True).data, status=status.HTTP_202_ACCEPTED
        )
