"""Security profiles behind deploy/nginx.conf (issue 19 §1): nginx terminates TLS and passes the
verified client certificate in headers only it sets; the product applies the same profile and
identity checks to them as to its own TLS endpoint, believing them from TRUSTED_PROXIES only."""

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connections
from ocpp.v16 import call

from chargepoints.models import ChargePoint, SecurityEvent
from chargepoints.security.authorities import certificate_authority_store
from chargepoints.security.security_log import CentralSystemEvent
from csms.tenancy.models import Tenant
from tests.async_orm import orm
from tests.e2e.nginx_front import NGINX, nginx_in_front
from tests.e2e.tls_files import TlsFiles
from tests.live_fixtures import wait_for_disconnects
from tests.ocpp_clients import PASSWORD, basic_auth, ocpp_client, refused_status
from tests.servers import server_env

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(NGINX is None, reason="nginx is not installed on this machine"),
]

BOOT = call.BootNotification(charge_point_vendor="Acme", charge_point_model="Wallbox 22")


@pytest.fixture(scope="module")
def nginx(
    files: TlsFiles,
    tmp_path_factory: pytest.TempPathFactory,
    django_db_setup: None,
    django_db_blocker: Any,
) -> Iterator[dict[str, int]]:
    with django_db_blocker.unblock():
        env = server_env(TRUSTED_PROXIES="127.0.0.1", LOG_LEVEL="WARNING", PYTHONUNBUFFERED="1")
        connections.close_all()
    with nginx_in_front(
        files, tmp_path_factory.mktemp("nginx"), application="csms.asgi:application", env=env
    ) as ports:
        yield ports


@pytest.fixture
def behind(
    nginx: dict[str, int], files: TlsFiles, tenant: Tenant, django_db_blocker: Any
) -> Iterator[Callable[[str, str], str]]:
    """``url(port_name, identity)``, with the tenant's Charge Point CA stored."""
    certificate_authority_store(
        tenant=tenant, role="charge_point_ca", authority=files.tenant.charge_point_ca
    )
    schemes = {"plain": "ws", "profile2": "wss", "profile3": "wss"}
    yield lambda port, identity: f"{schemes[port]}://127.0.0.1:{nginx[port]}/ocpp/acme/{identity}"
    with django_db_blocker.unblock():
        wait_for_disconnects()


async def event_types(identity: str) -> list[str]:
    return await orm(
        lambda: list(
            SecurityEvent.objects.filter(identity=identity)
            .order_by("timestamp", "id")
            .values_list("type", flat=True)
        )
    )


async def test_profile_3_through_nginx_needs_the_right_certificate(
    files: TlsFiles,
    behind: Callable[[str, str], str],
    make_charge_point: Callable[..., ChargePoint],
) -> None:
    await orm(make_charge_point, "CP-3", security_profile=3)
    url = behind("profile3", "CP-3")

    async with ocpp_client(
        url, "CP-3", ssl=files.client_context(files.client("cp-3", "CP-3"))
    ) as cp:
        assert (await cp.ask(BOOT)).status == "Accepted"
    # nginx verified it (the tenant's CA), but it names another charge point.
    misnamed = files.client_context(files.client("other", "CP-OTHER"))
    assert await refused_status(url, ssl=misnamed) == 401
    # The profile-2 port asks for no certificate: a profile-3 charger is refused there.
    assert await refused_status(behind("profile2", "CP-3"), ssl=files.client_context()) == 401
    assert await event_types("CP-3") == [
        CentralSystemEvent.INVALID_CERTIFICATE,
        CentralSystemEvent.PROFILE_VIOLATION,
    ]


async def test_profile_2_through_nginx_is_tls_by_nginx_and_basic_auth(
    files: TlsFiles,
    behind: Callable[[str, str], str],
    make_charge_point: Callable[..., ChargePoint],
) -> None:
    await orm(make_charge_point, "CP-2", password=PASSWORD, security_profile=2)
    auth = basic_auth("CP-2", PASSWORD)

    async with ocpp_client(
        behind("profile2", "CP-2"), "CP-2", ssl=files.client_context(), headers=auth
    ) as cp:
        assert (await cp.ask(BOOT)).status == "Accepted"
    # nginx's plain port: the password would travel in clear (and forged headers are stripped).
    forged = auth | {"X-SSL-Client-Verify": "SUCCESS", "X-SSL-Protocol": "TLSv1.3"}
    assert await refused_status(behind("plain", "CP-2"), headers=forged) == 401
    assert await event_types("CP-2") == [CentralSystemEvent.PROFILE_VIOLATION]
