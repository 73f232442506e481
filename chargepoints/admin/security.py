"""Staff admin of the security extension (issue 19): the tenants' certificate authorities
(generate, upload; the private key never shown), the certificates we signed, AuthorizationKey
rotations, Basic-auth lockouts (deleting one lifts it), the certificates chargers reported, and
the security actions on the charge point list (through the same services as the API)."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from chargepoints.models import (
    AuthorityRole,
    AuthorizationKeyRotation,
    BasicAuthFailures,
    CertificateAuthority,
    ChargePoint,
    ChargePointCertificate,
    InstalledCertificate,
)
from chargepoints.security.authorities import (
    certificate_authorities_generate,
    certificate_authority_upload,
)
from chargepoints.security.certificates import (
    certificate_install,
    installed_certificates_read,
    sign_certificate_trigger,
)
from chargepoints.security.upgrade_requests import security_profile_upgrade
from csms.admin import ReadOnlyAdminMixin
from csms.errors import DomainError
from csms.tenancy.models import Tenant


class CertificateAuthorityForm(forms.ModelForm):
    generate = forms.BooleanField(
        required=False, help_text="Generate a Central System root and a Charge Point CA below it."
    )
    certificate = forms.CharField(
        required=False, widget=forms.Textarea, help_text="PEM: the CA first, then its chain."
    )
    private_key = forms.CharField(
        required=False,
        widget=forms.Textarea,
        help_text="PEM, unencrypted; stored encrypted and never shown again.",
    )
    role = forms.ChoiceField(choices=[("", "—"), *AuthorityRole.choices], required=False)

    class Meta:
        model = CertificateAuthority
        fields = ["tenant"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not cleaned.get("generate") and not (cleaned.get("certificate") and cleaned.get("role")):
            raise forms.ValidationError("Generate the CAs, or upload a certificate with its role.")
        return cleaned


@admin.register(CertificateAuthority)
class CertificateAuthorityAdmin(admin.ModelAdmin):
    list_display = ["tenant", "role", "subject", "not_after", "has_private_key", "active"]
    list_filter = ["tenant", "role", "active"]
    search_fields = ["subject", "fingerprint_sha256", "serial_number"]
    list_select_related = ["tenant"]
    readonly_fields = [
        "tenant",
        "role",
        "subject",
        "serial_number",
        "fingerprint_sha256",
        "not_before",
        "not_after",
        "has_private_key",
        "certificate_pem",
        "created_at",
    ]
    fields = [*readonly_fields, "active"]

    def get_form(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = CertificateAuthorityForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return ["tenant", "generate", "role", "certificate", "private_key"]
        return list(self.fields)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return list(self.readonly_fields) if obj is not None else []

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        data = form.cleaned_data
        tenant: Tenant = data["tenant"]
        with transaction.atomic():
            if data.get("generate"):
                _root, created = certificate_authorities_generate(tenant=tenant)
            else:
                created = certificate_authority_upload(
                    tenant=tenant,
                    role=data["role"],
                    certificate_pem=data["certificate"],
                    private_key_pem=data.get("private_key") or None,
                )
        obj.pk = created.pk


@admin.register(ChargePointCertificate)
class ChargePointCertificateAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["charge_point", "serial_number", "not_after", "answer", "created_at"]
    list_filter = ["answer", "charge_point__tenant"]
    search_fields = ["charge_point__identity", "serial_number"]
    list_select_related = ["charge_point"]
    exclude = ["command"]


@admin.register(AuthorizationKeyRotation)
class AuthorizationKeyRotationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["charge_point", "status", "answer", "created_at", "finished_at"]
    list_filter = ["status", "charge_point__tenant"]
    search_fields = ["charge_point__identity"]
    list_select_related = ["charge_point"]
    exclude = ["password_hash"]  # a hash, but a secret's all the same


@admin.register(BasicAuthFailures)
class BasicAuthFailuresAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["scope", "key", "failures", "window_started_at", "locked_until"]
    list_filter = ["scope"]
    search_fields = ["key"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Deleting a row lifts its lockout (say, once a charger's password was fixed).
        return bool(request.user.is_superuser)


@admin.register(InstalledCertificate)
class InstalledCertificateAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["charge_point", "certificate_type", "serial_number", "reported_at"]
    list_filter = ["certificate_type", "charge_point__tenant"]
    search_fields = ["charge_point__identity", "serial_number"]
    list_select_related = ["charge_point"]


class ChargePointSecurityActionsMixin:
    """Actions of the charge point list, each through the service the API uses."""

    def _each(
        self, request: HttpRequest, queryset: QuerySet[ChargePoint], what: str, do: Any
    ) -> None:
        done = 0
        for charge_point in queryset.select_related("tenant"):
            try:
                with transaction.atomic():
                    do(charge_point)
            except DomainError as error:
                self.message_user(  # type: ignore[attr-defined]
                    request, f"{charge_point.identity}: {error.message}", messages.ERROR
                )
            else:
                done += 1
        self.message_user(request, f"{what} queued for {done} charge point(s).")  # type: ignore[attr-defined]

    @admin.action(description="Security: have it sign a new certificate")
    def sign_certificate(self, request: HttpRequest, queryset: QuerySet[ChargePoint]) -> None:
        self._each(
            request,
            queryset,
            "ExtendedTriggerMessage SignChargePointCertificate",
            lambda cp: sign_certificate_trigger(charge_point=cp, requested_by_user=request.user),
        )

    @admin.action(description="Security: install the tenant's Central System root")
    def install_root(self, request: HttpRequest, queryset: QuerySet[ChargePoint]) -> None:
        self._each(
            request,
            queryset,
            "InstallCertificate",
            lambda cp: certificate_install(
                charge_point=cp,
                certificate_type="CentralSystemRootCertificate",
                requested_by_user=request.user,
            ),
        )

    @admin.action(description="Security: read the installed certificates")
    def read_installed_certificates(
        self, request: HttpRequest, queryset: QuerySet[ChargePoint]
    ) -> None:
        self._each(
            request,
            queryset,
            "GetInstalledCertificateIds",
            lambda cp: installed_certificates_read(charge_point=cp, requested_by_user=request.user),
        )

    def _raise(self, request: HttpRequest, queryset: QuerySet[ChargePoint], profile: int) -> None:
        self._each(
            request,
            queryset,
            f"SecurityProfile {profile}",
            lambda cp: security_profile_upgrade(
                charge_point=cp, profile=profile, requested_by_user=request.user
            ),
        )

    @admin.action(description="Security: raise to profile 2 (TLS + Basic auth)")
    def raise_to_profile_2(self, request: HttpRequest, queryset: QuerySet[ChargePoint]) -> None:
        self._raise(request, queryset, 2)

    @admin.action(description="Security: raise to profile 3 (client certificate)")
    def raise_to_profile_3(self, request: HttpRequest, queryset: QuerySet[ChargePoint]) -> None:
        self._raise(request, queryset, 3)

    security_actions = [
        "sign_certificate",
        "install_root",
        "read_installed_certificates",
        "raise_to_profile_2",
        "raise_to_profile_3",
    ]
