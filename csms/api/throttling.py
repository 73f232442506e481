"""Per-token rate limits of the tenant API (DRF throttling).

Counted per token, not per tenant or address: one misbehaving integration is slowed down
without its tenant's other tokens. The rate is the ``token`` entry of
``DEFAULT_THROTTLE_RATES`` (``API_RATE_LIMIT``, default 600/min); the counters live in the
cache, which is Redis in production so every daphne process counts against the same limit.
Over the limit: 429 with ``Retry-After`` (seconds), in the API's one error shape.
"""

from typing import Any

from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from csms.tenancy.authentication import TenantClient


class TokenRateThrottle(SimpleRateThrottle):
    scope = "token"

    def get_rate(self) -> str | None:
        # Read when asked, not at import (DRF's class attribute): a changed setting applies.
        rates: dict[str, Any] = api_settings.DEFAULT_THROTTLE_RATES
        rate = rates.get(self.scope)
        return str(rate) if rate is not None else None

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        client = request.user
        if not isinstance(client, TenantClient):
            return None  # not a tenant call (schema, docs): authentication answers it
        # The token's public prefix: unique, and never the secret.
        return self.cache_format % {"scope": self.scope, "ident": client.token.prefix}
