"""The WebSocket handshake: who is connecting, with which subprotocol, and whether it may.

The first stage a charge point meets, before any frame. The URL names the tenant and the
charge point's identity (SPEC §3.2); the subprotocol is ``ocpp1.6`` (OCPP-J §3), and only a
charge point whose compatibility switch allows it may offer none; credentials are checked by
the backend against the charge point's password (OCPP-J §7, HTTP Basic) and its security
profile, given what the connection's TLS says (``csms.tls.scope``). A refusal is an HTTP
status, raised as :class:`~csms.ocpp.backend.ConnectionRefusedError` before anything is
written, so a refused handshake changes nothing.
"""

import asyncio
import logging
from typing import Any

from channels.exceptions import ChannelFull
from channels.layers import get_channel_layer

from csms.ocpp.backend import ConnectionRefusedError, OcppBackend
from csms.ocpp.context import ChargePointSession
from csms.ocpp.execution.hops import db_hop
from csms.ocpp.layer_inbox import local_inboxes
from csms.tls.scope import configured_trusted_proxies, scope_client_address, scope_tls

logger = logging.getLogger(__name__)
security_log = logging.getLogger("csms.security")

SUBPROTOCOL = "ocpp1.6"
IDENTITY_MAX_LENGTH = 48


async def handshake_open(
    scope: dict[str, Any], *, backend: OcppBackend, channel_name: str
) -> tuple[ChargePointSession, str | None]:
    """The session of the charge point connecting and the subprotocol to accept with (None:
    it offered none), or :class:`ConnectionRefusedError`."""
    kwargs = scope["url_route"]["kwargs"]
    tenant_slug, identity = kwargs["tenant_slug"], kwargs["identity"]
    trusted_proxies = configured_trusted_proxies()
    address = scope_client_address(scope, trusted_proxies=trusted_proxies)
    port = (scope.get("client") or ("", ""))[1]
    client = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
    if not 1 <= len(identity) <= IDENTITY_MAX_LENGTH:
        raise ConnectionRefusedError(
            400, f"Charge point identity must be 1-{IDENTITY_MAX_LENGTH} chars"
        )
    offered = scope.get("subprotocols") or []
    if offered and SUBPROTOCOL not in offered:
        security_log.info(
            "refused %s/%s from %s: subprotocols %s", tenant_slug, identity, client, offered
        )
        raise ConnectionRefusedError(400, f"Subprotocol {SUBPROTOCOL} required")
    headers = dict(scope.get("headers") or [])
    session, previous_channel = await db_hop(backend.session_open)(
        tenant_slug=tenant_slug,
        identity=identity,
        authorization=headers.get(b"authorization"),
        channel_name=channel_name,
        client=client,
        subprotocol_offered=bool(offered),
        # Security profiles 2 and 3: what our TLS endpoint or a trusted proxy says.
        tls=scope_tls(scope, trusted_proxies=trusted_proxies),
    )
    if previous_channel and previous_channel != channel_name:
        # The charger lost its old socket without a close: that connection must go.
        await takeover_notify(previous_channel, session.identity)
    return session, SUBPROTOCOL if offered else None


# A storm's thousands of takeovers at once would each open a Redis connection of their own
# (the layer's pool grows with concurrent sends, and redis-py reads its package metadata for
# every new connection: a tenth of a storm's CPU). A few at a time reuse the pooled ones.
_takeover_sends = asyncio.Semaphore(8)
# An unreachable layer must not hold a handshake up (the charger would time out and retry).
TAKEOVER_SEND_TIMEOUT_SECONDS = 1.0


async def takeover_notify(previous_channel: str, identity: str) -> None:
    """Tell the connection that held the charge point to close (the consumer's
    ``ocpp.takeover``); never fail the handshake.

    After a crash or a restart every charge point's presence still names a channel of the old
    process. Nobody reads those any more, and the reconnect storm fills them (channels-redis
    refuses more than ``capacity`` messages per process): there is nothing to take over from.
    """
    local = local_inboxes.get(previous_channel)
    if local is not None:
        local.put_nowait({"type": "ocpp.takeover"})
        return
    try:
        async with _takeover_sends:
            await asyncio.wait_for(
                get_channel_layer().send(previous_channel, {"type": "ocpp.takeover"}),
                timeout=TAKEOVER_SEND_TIMEOUT_SECONDS,
            )
    except ChannelFull:
        logger.info("%s: previous connection's channel is full (its process is gone)", identity)
    except Exception:
        logger.warning("%s: could not reach the previous connection", identity, exc_info=True)
