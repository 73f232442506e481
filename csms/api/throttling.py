"""Per-token rate limits of the tenant API (DRF throttling).

Counted per token, not per tenant or address: one misbehaving integration is slowed down
without its tenant's other tokens. The rate is the ``token`` entry of
``DEFAULT_THROTTLE_RATES`` (``API_RATE_LIMIT``, default 6000/min); the counters live in the
cache, which is Redis in production so every daphne process counts against the same limit.
Over the limit: 429 with ``Retry-After`` (seconds), in the API's one error shape. While
Redis is away the limit is not counted and every request goes on (issue 16 §1: an outage of
the wake-up layer must not stop the API that queues commands in the database).
"""

import logging
from typing import Any

from redis.exceptions import RedisError
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from csms.tenancy.authentication import TenantClient

logger = logging.getLogger(__name__)


class TokenRateThrottle(SimpleRateThrottle):
    scope = "token"

    def allow_request(self, request: Request, view: Any) -> bool:
        try:
            return super().allow_request(request, view)
        except RedisError as error:
            logger.warning("rate limit not counted, the cache is unreachable: %s", error)
            return True

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
