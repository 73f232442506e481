"""The client's address behind a proxy, believed only from the proxies we configured.

daphne's ``--proxy-headers`` takes the client address from ``X-Forwarded-For`` whoever sends
it: any charger or script could write a forged address into the security log (issue 16 §8).
We run daphne without it, and this ASGI middleware rewrites ``scope["client"]`` only when the
TCP peer is one of ``TRUSTED_PROXIES`` (csms.tls.proxy): then the client is the last address
the proxy appended (nginx's ``$proxy_add_x_forwarded_for``; the ones before it are whatever the
client claimed). The TCP peer stays in ``scope["extensions"]["csms.transport"]`` for the
checks that must be judged on it (the TLS headers of csms.tls.proxy).
"""

from typing import Any

from csms.tls.proxy import is_trusted_proxy
from csms.tls.scope import configured_trusted_proxies

FORWARDED_FOR = b"x-forwarded-for"


def forwarded_client(scope: dict[str, Any]) -> list[Any] | None:
    """The client's ``[host, port]`` as a trusted proxy reports it; None to keep the peer."""
    peer = scope.get("client")
    if not peer or not is_trusted_proxy(str(peer[0]), configured_trusted_proxies()):
        return None
    forwarded = b",".join(
        value for name, value in scope.get("headers", ()) if name == FORWARDED_FOR
    )
    hops = [hop.strip() for hop in forwarded.decode("latin-1").split(",") if hop.strip()]
    return [hops[-1], 0] if hops else None


class ForwardedClientMiddleware:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] in ("http", "websocket"):
            client = forwarded_client(scope)
            if client is not None:
                scope = dict(scope)
                extensions = dict(scope.get("extensions") or {})
                extensions.setdefault("csms.transport", {"peer": list(scope["client"])})
                scope["extensions"] = extensions
                scope["client"] = client
        return await self.app(scope, receive, send)
