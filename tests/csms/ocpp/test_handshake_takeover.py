"""A reconnect after a crash takes over presence even when the old process's channels are full."""

from typing import Any

import pytest
from channels.exceptions import ChannelFull

from chargepoints.models import ChargePoint
from chargepoints.ocpp_backend import ChargePointBackend
from csms.ocpp import handshake
from csms.tenancy.models import Tenant
from tests.async_orm import orm

pytestmark = pytest.mark.django_db(transaction=True)


class FullLayer:
    """channels-redis after thousands of takeovers for a process that died."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        self.sent.append((channel, message))
        raise ChannelFull()


async def test_handshake_is_served_although_the_previous_channel_is_full(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    cp = await orm(
        ChargePoint.objects.create,
        tenant=tenant,
        identity="CP-1",
        connected=True,
        channel_name="csms.old-process!abc",
    )
    layer = FullLayer()
    monkeypatch.setattr(handshake, "get_channel_layer", lambda: layer)

    session, _ = await handshake.handshake_open(
        {
            "url_route": {"kwargs": {"tenant_slug": tenant.slug, "identity": "CP-1"}},
            "client": ("127.0.0.1", 5000),
            "subprotocols": ["ocpp1.6"],
        },
        backend=ChargePointBackend(),
        channel_name="csms.new-process!xyz",
    )

    assert session.charge_point_id == cp.pk
    assert layer.sent == [("csms.old-process!abc", {"type": "ocpp.takeover"})]
    stored = await orm(ChargePoint.objects.get, pk=cp.pk)
    assert (stored.connected, stored.channel_name) == (True, "csms.new-process!xyz")
