"""HTTP to a live server on loopback: raw requests (a charger's uploads) and the tenant API
(``/api/v1/`` with a Bearer token), as the end-to-end tests call them."""

import asyncio
import json
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any

# The API answers in milliseconds; a ?wait= this long only bounds a broken run.
WAIT = 10
# Longer than any ?wait= a test asks for.
REQUEST_TIMEOUT = 70

# The server is on loopback: never through a proxy from the environment.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_url(ws_url: str) -> str:
    return "http" + ws_url.removeprefix("ws")


@dataclass(frozen=True)
class RawReply:
    status: int
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body)


def _send(request: urllib.request.Request) -> RawReply:
    try:
        with _opener.open(request, timeout=REQUEST_TIMEOUT) as response:
            return RawReply(response.status, response.read(), dict(response.headers))
    except urllib.error.HTTPError as error:
        return RawReply(error.code, error.read(), dict(error.headers))


async def http(
    method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> RawReply:
    request = urllib.request.Request(  # noqa: S310 - loopback URL built by the test
        url, method=method, data=body, headers=headers or {}
    )
    return await asyncio.to_thread(_send, request)


def multipart(field: str, file_name: str, content: bytes) -> tuple[bytes, str]:
    """A multipart/form-data body with one file part, as charge point firmwares send it."""
    boundary = uuid.uuid4().hex
    body = (
        (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="{field}"; filename="{file_name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any  # the JSON answer, None when empty
    content_type: str = ""


@dataclass(frozen=True)
class HttpApi:
    """``/api/v1/`` of a live server, as one tenant (Bearer token)."""

    base_url: str
    token: str

    async def __call__(self, method: str, path: str, body: Any = None) -> Reply:
        raw = await http(
            method,
            f"{self.base_url}/api/v1{path}",
            None if body is None else json.dumps(body).encode(),
            {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        content_type = next(
            (value for name, value in raw.headers.items() if name.lower() == "content-type"), ""
        )
        return Reply(raw.status, raw.json() if raw.body else None, content_type)

    async def get(self, path: str) -> Reply:
        return await self("GET", path)

    async def post(self, path: str, body: Any = None) -> Reply:
        return await self("POST", path, body)

    async def patch(self, path: str, body: Any) -> Reply:
        return await self("PATCH", path, body)

    async def delete(self, path: str) -> Reply:
        return await self("DELETE", path)

    async def command(
        self, identity: str, action: str, payload: Any, *, wait: float | None = WAIT
    ) -> Reply:
        """POST a command for ``identity`` (``?wait=`` seconds for its answer, unless None)."""
        query = f"?wait={wait}" if wait is not None else ""
        return await self.post(
            f"/charge-points/{identity}/commands/{query}", {"action": action, "payload": payload}
        )
