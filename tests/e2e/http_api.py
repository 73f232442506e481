"""The tenant API (``/api/v1/``) of the live server over HTTP, as the end-to-end tests call it."""

import asyncio
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

# The API answers in milliseconds; a ?wait= this long only bounds a broken run.
WAIT = 10


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any


# The server is on loopback: never through a proxy from the environment.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class HttpApi:
    """``/api/v1/`` of the live server, as one tenant (Bearer token)."""

    base_url: str
    token: str

    async def get(self, path: str) -> Reply:
        return await asyncio.to_thread(self._request, "GET", path, None)

    async def post(self, path: str, body: Any = None) -> Reply:
        return await asyncio.to_thread(self._request, "POST", path, body)

    async def patch(self, path: str, body: Any) -> Reply:
        return await asyncio.to_thread(self._request, "PATCH", path, body)

    async def delete(self, path: str) -> Reply:
        return await asyncio.to_thread(self._request, "DELETE", path, None)

    def _request(self, method: str, path: str, body: Any) -> Reply:
        request = urllib.request.Request(  # noqa: S310 - loopback URL built by the test
            f"{self.base_url}/api/v1{path}",
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        try:
            with _opener.open(request, timeout=70) as response:
                raw = response.read()
                return Reply(response.status, json.loads(raw) if raw else None)
        except urllib.error.HTTPError as error:
            raw = error.read()
            return Reply(error.code, json.loads(raw) if raw else None)


def http_url(ws_url: str) -> str:
    return "http" + ws_url.removeprefix("ws")
