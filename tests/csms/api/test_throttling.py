"""Per-token rate limits (issue 20 §4): DRF throttling, 600 requests a minute by default, a
setting to change it; over it a 429 with Retry-After in the API's error shape."""

from collections.abc import Callable, Iterator

import pytest
from django.conf import settings
from django.core.cache.backends.redis import RedisCache
from django.test import override_settings
from rest_framework.settings import api_settings
from rest_framework.test import APIClient

from csms.api.throttling import TokenRateThrottle
from csms.tenancy.models import Tenant

pytestmark = pytest.mark.django_db


@pytest.fixture
def three_a_minute() -> Iterator[None]:
    rates = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"token": "3/min"}}
    with override_settings(REST_FRAMEWORK=rates):
        yield


def test_the_default_limit_is_6000_a_minute_per_token() -> None:
    assert api_settings.DEFAULT_THROTTLE_RATES["token"] == "6000/min"
    assert api_settings.DEFAULT_THROTTLE_CLASSES[0].__name__ == "TokenRateThrottle"


def test_over_the_limit_a_token_gets_429_with_retry_after(
    api: APIClient, three_a_minute: None
) -> None:
    answers = [api.get("/api/v1/charge-points/").status_code for _ in range(3)]
    refused = api.get("/api/v1/id-tags/")

    assert answers == [200, 200, 200]
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60
    body = refused.json()
    assert (body["type"], body["code"]) == ("client_error", "throttled")
    assert "throttled" in body["detail"].lower()


def test_each_token_has_its_own_limit(
    api: APIClient,
    other_api: APIClient,
    tenant: Tenant,
    api_client_for: Callable[[Tenant], APIClient],
    three_a_minute: None,
) -> None:
    for _ in range(3):
        api.get("/api/v1/charge-points/")
    same_tenant_other_token = api_client_for(tenant)

    assert api.get("/api/v1/charge-points/").status_code == 429
    assert same_tenant_other_token.get("/api/v1/charge-points/").status_code == 200
    assert other_api.get("/api/v1/charge-points/").status_code == 200


def test_async_views_are_limited_too(api: APIClient, three_a_minute: None) -> None:
    for _ in range(3):
        api.get("/api/v1/reservations/")

    assert api.get("/api/v1/reservations/").status_code == 429


def test_while_the_cache_is_unreachable_requests_go_on_uncounted(
    api: APIClient, three_a_minute: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A real Redis client on a port nothing listens on: Redis away (issue 16 §1).
    monkeypatch.setattr(TokenRateThrottle, "cache", RedisCache("redis://127.0.0.1:1/0", {}))

    answers = [api.get("/api/v1/charge-points/").status_code for _ in range(5)]

    assert answers == [200] * 5
