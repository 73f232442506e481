"""Writes on tenants and API tokens."""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from csms.tenancy.models import ApiToken, Tenant

TOKEN_SCHEME = "csms"  # noqa: S105 - a public prefix, not a secret


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    raw: str  # shown once, never stored


def hash_token_secret(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def tenant_create_or_update(*, slug: str, name: str | None = None) -> tuple[Tenant, bool]:
    """Idempotent: an existing tenant keeps its settings; ``name`` is updated when given."""
    with transaction.atomic():
        tenant, created = Tenant.objects.select_for_update().get_or_create(
            slug=slug, defaults={"name": name or slug}
        )
        if not created and name and tenant.name != name:
            tenant.name = name
            tenant.save(update_fields=["name", "updated_at"])
    return tenant, created


def api_token_issue(*, tenant: Tenant, label: str = "") -> IssuedToken:
    prefix = secrets.token_hex(6)
    raw = f"{TOKEN_SCHEME}_{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        tenant=tenant, label=label, prefix=prefix, secret_hash=hash_token_secret(raw)
    )
    return IssuedToken(token=token, raw=raw)


def api_token_revoke(*, token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def api_token_authenticate(*, raw: str) -> ApiToken | None:
    """The live token ``raw`` stands for, or None. One indexed query."""
    parts = raw.split("_")
    if len(parts) < 3 or parts[0] != TOKEN_SCHEME:
        return None
    token = (
        ApiToken.objects.select_related("tenant")
        .filter(prefix=parts[1], revoked_at__isnull=True)
        .first()
    )
    if token is None or not hmac.compare_digest(token.secret_hash, hash_token_secret(raw)):
        return None
    _api_token_touch(token=token)
    return token


def _api_token_touch(*, token: ApiToken) -> None:
    # Coarse on purpose: at most one write per token per resolution window.
    now = timezone.now()
    resolution = timedelta(seconds=settings.API_TOKEN_LAST_USED_RESOLUTION_SECONDS)
    if token.last_used_at is None or now - token.last_used_at > resolution:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
