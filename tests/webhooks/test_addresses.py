"""The SSRF guard: on create/update, and again at delivery time after DNS resolution."""

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from csms.tenancy.models import Tenant
from csms.webhooks import addresses, transport
from csms.webhooks.addresses import UnsafeUrlError, url_check
from csms.webhooks.event_types import EventType
from csms.webhooks.models import DeliveryAttempt, DeliveryStatus, WebhookEndpoint
from csms.webhooks.services.deliveries import Outcome, delivery_attempt
from csms.webhooks.services.endpoints import webhook_endpoint_create
from csms.webhooks.services.events import event_emit
from tests.api_errors import error_fields
from tests.webhooks.conftest import delivery_of

PUBLIC = "93.184.215.14"  # a global unicast address; never contacted by these tests

NON_PUBLIC = [
    "http://127.0.0.1/hook",
    "http://127.8.9.10:8080/hook",
    "http://localhost:8000/hook",
    "http://10.1.2.3/hook",
    "http://172.16.0.1/hook",
    "http://192.168.1.20/hook",
    "http://100.64.0.1/hook",  # carrier-grade NAT
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata (link-local)
    "http://0.0.0.0/hook",
    "http://224.0.0.1/hook",  # multicast
    "http://240.0.0.1/hook",  # reserved
    "http://[::1]/hook",
    "http://[fe80::1]/hook",
    "http://[fc00::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",  # IPv4-mapped loopback
    "https://[ff02::1]/hook",
]


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """A DNS of our own for names under example.test (other names resolve as usual)."""
    names: dict[str, list[str]] = {}
    real = addresses.host_addresses

    def resolve(host: str, port: int) -> list[str]:
        if host in names:
            return names[host]
        if host.endswith(".example.test"):
            raise OSError("NXDOMAIN")
        return real(host, port)

    monkeypatch.setattr(addresses, "host_addresses", resolve)
    return names


@pytest.fixture(autouse=True)
def _private_addresses_refused(settings: Any) -> None:
    # Production's default; the webhook receiver of tests/webhooks/conftest.py allows them.
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False


@pytest.mark.parametrize("url", NON_PUBLIC)
def test_non_public_addresses_are_refused(url: str) -> None:
    with pytest.raises(UnsafeUrlError, match="non-public"):
        url_check(url)


@pytest.mark.parametrize(
    "url",
    ["ftp://hooks.example.test/", "file:///etc/passwd", "gopher://x.example.test/", "//x/y", ""],
)
def test_only_http_and_https_are_allowed(url: str) -> None:
    with pytest.raises(UnsafeUrlError, match="Only http and https"):
        url_check(url)


def test_credentials_in_the_url_are_refused() -> None:
    with pytest.raises(UnsafeUrlError, match="Credentials"):
        url_check("https://user:pw@hooks.example.test/")


def test_a_host_that_does_not_resolve_is_refused(resolver: dict[str, list[str]]) -> None:
    with pytest.raises(UnsafeUrlError, match="does not resolve"):
        url_check("https://nowhere.example.test/")


def test_a_dns_name_resolving_to_a_private_address_is_refused(
    resolver: dict[str, list[str]],
) -> None:
    resolver["internal.example.test"] = ["10.0.0.7"]

    with pytest.raises(UnsafeUrlError, match=r"non-public address \(10\.0\.0\.7\)"):
        url_check("https://internal.example.test/hooks")


def test_a_name_with_one_private_address_among_public_ones_is_refused(
    resolver: dict[str, list[str]],
) -> None:
    resolver["mixed.example.test"] = [PUBLIC, "192.168.0.5"]

    with pytest.raises(UnsafeUrlError, match=r"192\.168\.0\.5"):
        url_check("https://mixed.example.test/hooks")


def test_a_name_resolving_to_public_addresses_is_accepted(resolver: dict[str, list[str]]) -> None:
    resolver["hooks.example.test"] = [PUBLIC]

    url_check("https://hooks.example.test/hooks")  # no exception


def test_the_setting_allows_loopback_and_private_addresses(settings: Any) -> None:
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True

    url_check("http://127.0.0.1:9/hook")
    url_check("http://localhost:9/hook")
    url_check("http://10.1.2.3/hook")


# --- API -----------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["http://127.0.0.1:8000/hook", "http://169.254.169.254/"])
def test_api_refuses_to_create_an_endpoint_on_a_private_address(api: APIClient, url: str) -> None:
    response = api.post("/api/v1/webhooks/", {"url": url}, format="json")

    assert response.status_code == 400
    assert "non-public" in error_fields(response)["url"][0]
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.django_db
def test_api_refuses_to_move_an_endpoint_to_a_private_address(
    api: APIClient, tenant: Tenant, resolver: dict[str, list[str]]
) -> None:
    resolver["hooks.example.test"] = [PUBLIC]
    resolver["sneaky.example.test"] = ["127.0.0.1"]
    endpoint = webhook_endpoint_create(tenant=tenant, url="https://hooks.example.test/in")

    response = api.patch(
        f"/api/v1/webhooks/{endpoint.pk}/",
        {"url": "https://sneaky.example.test/in"},
        format="json",
    )

    assert response.status_code == 400
    endpoint.refresh_from_db()
    assert endpoint.url == "https://hooks.example.test/in"


@pytest.mark.django_db
def test_api_refuses_other_schemes(api: APIClient) -> None:
    response = api.post("/api/v1/webhooks/", {"url": "ftp://hooks.example.test/"}, format="json")

    assert response.status_code == 400
    assert not WebhookEndpoint.objects.exists()


# --- Delivery time -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_delivery_is_refused_when_the_name_now_resolves_to_a_private_address(
    tenant: Tenant,
    resolver: dict[str, list[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """DNS rebinding: the name was public when the endpoint was created."""
    resolver["rebind.example.test"] = [PUBLIC]
    endpoint = webhook_endpoint_create(tenant=tenant, url="https://rebind.example.test/in")
    event = event_emit(
        tenant_id=tenant.pk, type=EventType.PING, data={}, endpoint_ids=[endpoint.pk]
    )
    resolver["rebind.example.test"] = ["10.0.0.7"]
    connects: list[Any] = []
    monkeypatch.setattr(transport, "_connect", lambda *args: connects.append(args))

    outcome = delivery_attempt(delivery_id=delivery_of(event.id).pk)

    assert outcome == Outcome.RETRY
    assert connects == []  # not a single packet to the private address
    attempt = DeliveryAttempt.objects.get()
    assert attempt.status_code is None
    assert "non-public address (10.0.0.7)" in attempt.error
    assert delivery_of(event.id).status == DeliveryStatus.PENDING


@pytest.mark.django_db
def test_delivery_connects_only_to_the_addresses_that_were_checked(
    tenant: Tenant,
    resolver: dict[str, list[str]],
    monkeypatch: pytest.MonkeyPatch,
    make_endpoint: Callable[..., WebhookEndpoint],
) -> None:
    resolver["hooks.example.test"] = [PUBLIC]
    endpoint = make_endpoint(tenant, url="https://hooks.example.test/in")
    event = event_emit(
        tenant_id=tenant.pk, type=EventType.PING, data={}, endpoint_ids=[endpoint.pk]
    )
    connects: list[tuple[list[str], int]] = []

    def refuse(addresses_: list[str], port: int, timeout: float) -> Any:
        connects.append((addresses_, port))
        raise ConnectionRefusedError("test: no network")

    monkeypatch.setattr(transport, "_connect", refuse)

    delivery_attempt(delivery_id=delivery_of(event.id).pk)

    assert connects == [([PUBLIC], 443)]
    assert "ConnectionRefusedError" in DeliveryAttempt.objects.get().error
