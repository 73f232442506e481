"""Basic-auth brute force is bounded (issue 19 §1, "Must show"): past the failures allowed per
identity or per source address, every attempt is refused for the cool-down — the right
password too — and the lockout is a critical row of the security log. A daphne of its own,
with small limits."""

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from chargepoints.models import BasicAuthFailures, ChargePoint, SecurityEvent
from chargepoints.security.brute_force import basic_auth_lockout_clear
from chargepoints.security.security_log import CentralSystemEvent
from tests.async_orm import orm
from tests.live_fixtures import wait_for_disconnects
from tests.ocpp_clients import PASSWORD, basic_auth, ocpp_url, open_socket, refused_status
from tests.servers import ServerProcess, daphne_running, no_crash_logged

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

IDENTITY_LIMIT, SOURCE_LIMIT = 3, 5
WRONG = "not-the-password-at-all"


@pytest.fixture(scope="module")
def lockout_server(django_db_setup: None, django_db_blocker: Any) -> Iterator[ServerProcess]:
    with daphne_running(
        OCPP_BASIC_AUTH_IDENTITY_LIMIT=str(IDENTITY_LIMIT),
        OCPP_BASIC_AUTH_SOURCE_LIMIT=str(SOURCE_LIMIT),
        OCPP_BASIC_AUTH_WINDOW_SECONDS="300",
        OCPP_BASIC_AUTH_LOCKOUT_SECONDS="600",
    ) as server:
        yield server


@pytest.fixture
def url_of(lockout_server: ServerProcess, django_db_blocker: Any) -> Iterator[Callable[[str], str]]:
    with no_crash_logged(lockout_server):
        yield lambda identity: ocpp_url(lockout_server.ws_url, "acme", identity)
        with django_db_blocker.unblock():
            wait_for_disconnects()


async def connects(url: str, identity: str, password: str) -> bool:
    async with open_socket(url, headers=basic_auth(identity, password)):
        return True


async def lockout_events() -> list[SecurityEvent]:
    return await orm(
        lambda: list(SecurityEvent.objects.filter(type=CentralSystemEvent.BRUTE_FORCE_LOCKOUT))
    )


async def test_an_identity_is_locked_out_after_its_failures_even_for_the_right_password(
    url_of: Callable[[str], str], make_charge_point: Callable[..., ChargePoint]
) -> None:
    await orm(make_charge_point, "CP-A", password=PASSWORD)
    url = url_of("CP-A")
    for _ in range(IDENTITY_LIMIT):
        assert await refused_status(url, headers=basic_auth("CP-A", WRONG)) == 401

    assert await refused_status(url, headers=basic_auth("CP-A", PASSWORD)) == 401

    (lockout,) = await lockout_events()
    assert (lockout.identity, lockout.critical) == ("CP-A", True)
    assert f"{IDENTITY_LIMIT} failed Basic-auth handshakes per identity acme/CP-A" in (
        lockout.tech_info
    )
    # One row per wrong attempt and one for the lockout; none for attempts during it.
    assert await orm(SecurityEvent.objects.count) == IDENTITY_LIMIT + 1
    # Staff lift it (after fixing the charger, say): the right password works again.
    await orm(basic_auth_lockout_clear, tenant_slug="acme", identity="CP-A")
    assert await connects(url, "CP-A", PASSWORD)


async def test_a_source_address_is_locked_out_across_identities(
    url_of: Callable[[str], str], make_charge_point: Callable[..., ChargePoint]
) -> None:
    identities = [f"CP-{n}" for n in range(SOURCE_LIMIT)]
    for identity in [*identities, "CP-GOOD"]:
        await orm(make_charge_point, identity, password=PASSWORD)
    for identity in identities:  # one wrong guess each: no identity reaches its limit
        assert await refused_status(url_of(identity), headers=basic_auth(identity, WRONG)) == 401

    assert await refused_status(url_of("CP-GOOD"), headers=basic_auth("CP-GOOD", PASSWORD)) == 401

    (lockout,) = await lockout_events()
    assert "per source 127.0.0.1 within 300 s" in lockout.tech_info
    # A charge point without a password is no Basic-auth attempt: it still gets in.
    await orm(make_charge_point, "CP-OPEN")
    async with open_socket(url_of("CP-OPEN")):
        pass


async def test_missing_credentials_and_unknown_identities_lock_nobody_out(
    url_of: Callable[[str], str], make_charge_point: Callable[..., ChargePoint]
) -> None:
    await orm(make_charge_point, "CP-A", password=PASSWORD)
    for _ in range(SOURCE_LIMIT + 1):
        assert await refused_status(url_of("CP-A")) == 401  # a charger not configured yet
        assert await refused_status(url_of("NOBODY"), headers=basic_auth("NOBODY", WRONG)) == 404

    assert await connects(url_of("CP-A"), "CP-A", PASSWORD)
    assert await orm(BasicAuthFailures.objects.count) == 0
