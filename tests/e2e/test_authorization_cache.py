"""Blocking a card reaches the chargers (issue 18 §1, OCPP 1.6 §3.5, §5.4): every Accepted
idTagInfo expires within the tenant's cache lifetime, a tag we stop accepting is cleared from
the caches and local lists of the charge points that may hold it, and a start with a tag
blocked meanwhile is answered with its real status and flagged. The real daphne, charge points
on the ``ocpp`` package."""

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from ocpp.v16 import call

from chargepoints.models import ChargePoint, IdTag
from csms.tenancy.models import Tenant
from tests.async_orm import orm
from tests.e2e.local_auth_charge_point import LocalAuthChargePoint, online
from tests.http_clients import WAIT, HttpApi
from tests.waiting import until
from transactions.models import Transaction

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CACHE_LIFETIME = 3600


@pytest.fixture
def cache_lifetime(tenant: Tenant) -> int:
    tenant.authorization_cache_lifetime = CACHE_LIFETIME
    tenant.save(update_fields=["authorization_cache_lifetime"])
    return CACHE_LIFETIME


def wire(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def moment(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def start(cp: LocalAuthChargePoint, id_tag: str, *, at: datetime) -> Any:
    return await cp.ask(
        call.StartTransaction(connector_id=1, id_tag=id_tag, meter_start=0, timestamp=wire(at))
    )


async def stop(cp: LocalAuthChargePoint, started: Any, **fields: Any) -> Any:
    return await cp.ask(
        call.StopTransaction(
            transaction_id=started.transaction_id,
            meter_stop=120,
            timestamp=wire(datetime.now(UTC)),
            **fields,
        )
    )


def within_cache_lifetime(expiry: str, asked_at: datetime) -> bool:
    """``expiry`` is now + the lifetime as the server saw "now" (which is a little later)."""
    expected = asked_at + timedelta(seconds=CACHE_LIFETIME)
    return -1 < (moment(expiry) - expected).total_seconds() < 10


async def test_every_accepted_id_tag_info_expires_within_the_cache_lifetime(
    cache_lifetime: int, url: str, tenant: Tenant, http_api: HttpApi
) -> None:
    soon = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=10)
    await orm(IdTag.objects.create, tenant=tenant, id_tag="TAG-OPEN", in_local_list=True)
    await orm(IdTag.objects.create, tenant=tenant, id_tag="TAG-SOON", expiry_date=soon)
    async with online(url, "CP-1") as cp:
        asked_at = datetime.now(UTC)
        authorized = await cp.ask(call.Authorize(id_tag="TAG-OPEN"))
        own_expiry = await cp.ask(call.Authorize(id_tag="TAG-SOON"))
        started = await start(cp, "TAG-OPEN", at=asked_at)
        stopped = await stop(cp, started, id_tag="TAG-OPEN")
        await http_api.post("/charge-points/CP-1/local-list/sync/")
        [sent] = await cp.calls_of("SendLocalList", 1)

    for answer in (authorized, started, stopped):
        assert answer.id_tag_info["status"] == "Accepted"
        assert within_cache_lifetime(answer.id_tag_info["expiry_date"], asked_at)
    # The tag's own expiry date is earlier than the cap: it stays.
    assert moment(own_expiry.id_tag_info["expiry_date"]) == soon
    [entry] = sent["localAuthorizationList"]
    assert entry["idTag"] == "TAG-OPEN"
    assert within_cache_lifetime(entry["idTagInfo"]["expiryDate"], asked_at)


async def block(http_api: HttpApi, id_tag: str) -> None:
    assert (await http_api.patch(f"/id-tags/{id_tag}/", {"status": "Blocked"})).status == 200


async def expire(http_api: HttpApi, id_tag: str) -> None:
    past = wire(datetime.now(UTC) - timedelta(minutes=1))
    assert (await http_api.patch(f"/id-tags/{id_tag}/", {"expiry_date": past})).status == 200


async def delete(http_api: HttpApi, id_tag: str) -> None:
    assert (await http_api.delete(f"/id-tags/{id_tag}/")).status == 204


async def pending_confirmations(http_api: HttpApi, id_tag: str) -> list[str]:
    return list((await http_api.get(f"/id-tags/{id_tag}/")).body["pending_confirmations"])


@pytest.mark.parametrize("withdraw", [block, expire], ids=["blocked", "expired"])
async def test_a_tag_no_longer_accepted_is_cleared_where_it_was_cached(
    cache_lifetime: int,
    cp_url: Callable[[str], str],
    make_charge_point: Callable[..., ChargePoint],
    tag: IdTag,
    http_api: HttpApi,
    withdraw: Callable[[HttpApi, str], Awaitable[None]],
) -> None:
    for identity in ("CP-1", "CP-2", "CP-3"):
        await orm(make_charge_point, identity)
    # CP-1 and CP-3 cached the tag; CP-3 then went offline. CP-2 never saw it.
    for identity in ("CP-1", "CP-3"):
        async with online(cp_url(identity), identity) as cp:
            await cp.ask(call.Authorize(id_tag="TAG-OK"))
    async with online(cp_url("CP-1"), "CP-1") as cp1, online(cp_url("CP-2"), "CP-2") as cp2:
        cp1.clear_cache_answer = "Rejected"  # the first try fails: CP-1 stays to confirm
        await withdraw(http_api, "TAG-OK")
        await cp1.calls_of("ClearCache", 1)
        assert await pending_confirmations(http_api, "TAG-OK") == ["CP-1", "CP-3"]

        cp1.clear_cache_answer = "Accepted"
        sent = await http_api.post(
            f"/charge-points/CP-1/commands/?wait={WAIT}", {"action": "ClearCache", "payload": {}}
        )
        assert sent.body["response"] == {"status": "Accepted"}
        assert await pending_confirmations(http_api, "TAG-OK") == ["CP-3"]
    assert "ClearCache" not in cp2.actions()

    # The offline one is told when it comes back.
    async with online(cp_url("CP-3"), "CP-3") as cp3:
        assert await cp3.calls_of("ClearCache", 1) == [{}]

        async def confirmed() -> bool:
            return await pending_confirmations(http_api, "TAG-OK") == []

        await until(confirmed, what=lambda: "CP-3 never confirmed the ClearCache")


async def test_a_deleted_tag_is_cleared_where_it_was_cached(
    cache_lifetime: int, url: str, tag: IdTag, http_api: HttpApi
) -> None:
    async with online(url, "CP-1") as cp:
        await cp.ask(call.Authorize(id_tag="TAG-OK"))
        await delete(http_api, "TAG-OK")
        assert await cp.calls_of("ClearCache", 1) == [{}]
        denied = await cp.ask(call.Authorize(id_tag="TAG-OK"))
    assert denied.id_tag_info == {"status": "Invalid"}


async def test_a_listed_tag_blocked_goes_out_as_a_differential_local_list(
    cache_lifetime: int, url: str, tenant: Tenant, http_api: HttpApi
) -> None:
    await orm(IdTag.objects.create, tenant=tenant, id_tag="TAG-A", in_local_list=True)
    await orm(IdTag.objects.create, tenant=tenant, id_tag="TAG-B", in_local_list=True)
    async with online(url, "CP-1") as cp:
        await http_api.post("/charge-points/CP-1/local-list/sync/")
        [full] = await cp.calls_of("SendLocalList", 1)
        assert full["updateType"] == "Full"

        await block(http_api, "TAG-B")
        _, differential = await cp.calls_of("SendLocalList", 2)

        async def confirmed() -> bool:
            return await pending_confirmations(http_api, "TAG-B") == []

        await until(confirmed, what=lambda: "the SendLocalList was not confirmed")
    assert "ClearCache" not in cp.actions()
    assert differential["updateType"] == "Differential"
    assert differential["localAuthorizationList"] == [
        {"idTag": "TAG-B", "idTagInfo": {"status": "Blocked"}}
    ]
    assert cp.local_list.entries["tag-b"] == {"status": "Blocked"}


async def test_a_start_with_a_tag_blocked_while_offline_is_answered_blocked_and_flagged(
    url: str, tag: IdTag, http_api: HttpApi
) -> None:
    await block(http_api, "TAG-OK")
    # The charger accepted the card from its cache while offline and reports it now.
    started_offline = datetime.now(UTC) - timedelta(minutes=20)
    async with online(url, "CP-1") as cp:
        started = await start(cp, "TAG-OK", at=started_offline)
        # StopTransactionOnInvalidId: the charger stops the session itself.
        stopped = await stop(cp, started, reason="DeAuthorized")
    assert started.id_tag_info == {"status": "Blocked"}
    assert stopped.id_tag_info is None
    session: dict[str, Any] = (await http_api.get(f"/transactions/{started.transaction_id}/")).body
    assert (session["stop_reason"], session["active"]) == ("DeAuthorized", False)
    stored = await orm(Transaction.objects.get, pk=started.transaction_id)
    assert "id_tag_not_accepted: Blocked" in stored.flags
