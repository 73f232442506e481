"""``Authorization: Bearer <token>`` for the tenant API."""

from dataclasses import dataclass

from rest_framework import authentication, exceptions
from rest_framework.request import Request

from csms.tenancy.models import ApiToken, Tenant
from csms.tenancy.services import api_token_authenticate


@dataclass(frozen=True)
class TenantClient:
    """``request.user`` for API calls: the tenant a token speaks for (not a Django user)."""

    tenant: Tenant
    token: ApiToken
    is_authenticated: bool = True
    is_anonymous: bool = False
    is_staff: bool = False

    def __str__(self) -> str:
        return f"token {self.token.prefix} of {self.tenant.slug}"


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[TenantClient, ApiToken] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Malformed Authorization header.")
        try:
            raw = header[1].decode()
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed("Malformed token.") from exc
        token = api_token_authenticate(raw=raw)
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked token.")
        return TenantClient(tenant=token.tenant, token=token), token

    def authenticate_header(self, request: Request) -> str:
        # Present so that DRF answers 401 (with WWW-Authenticate), not 403.
        return f'{self.keyword} realm="api"'
