from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from csms.tenancy.models import ApiToken, Tenant
from csms.tenancy.services import api_token_issue, api_token_revoke


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = [
        "slug",
        "name",
        "unknown_charge_point_policy",
        "heartbeat_interval",
        "authorization_cache_lifetime",
        "minimum_security_profile",
        "created_at",
    ]
    list_filter = ["unknown_charge_point_policy", "minimum_security_profile"]
    search_fields = ["slug", "name"]
    readonly_fields = ["created_at", "updated_at"]
    prepopulated_fields = {"slug": ("name",)}


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["prefix", "tenant", "label", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["tenant", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["prefix", "label", "tenant__slug"]
    list_select_related = ["tenant"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke_tokens"]

    def get_fields(self, request: HttpRequest, obj: ApiToken | None = None) -> list[str]:
        if obj is None:
            return ["tenant", "label"]
        return ["tenant", "label", "prefix", "created_at", "last_used_at", "revoked_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: ApiToken | None = None) -> list[str]:
        if obj is None:
            return []
        return ["tenant", *self.readonly_fields]

    def save_model(self, request: HttpRequest, obj: ApiToken, form: object, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        issued = api_token_issue(tenant=obj.tenant, label=obj.label)
        obj.pk = issued.token.pk
        obj.prefix = issued.token.prefix
        # The only time the secret is ever shown: it is not stored in clear anywhere.
        messages.warning(
            request,
            f"New API token for {obj.tenant.slug} — copy it now, it will not be shown again: "
            f"{issued.raw}",
        )

    @admin.action(description="Revoke selected tokens")
    def revoke_tokens(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        tokens = list(queryset.filter(revoked_at__isnull=True))
        for token in tokens:
            api_token_revoke(token=token)
        self.message_user(request, f"Revoked {len(tokens)} token(s).", messages.SUCCESS)
