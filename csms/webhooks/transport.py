"""One HTTP POST of a webhook: to the checked addresses only, with a time-out, no redirects.

The standard library's ``http.client`` is used on purpose: it never follows redirects, and its
connection classes let us connect to the address the SSRF guard approved while TLS still
verifies the certificate against the URL's host name.
"""

import http.client
import socket
import ssl
import time
from dataclasses import dataclass

from csms.webhooks.addresses import UnsafeUrlError, url_resolve

USER_AGENT = "csms-webhooks/1"


@dataclass(frozen=True, slots=True)
class PostOutcome:
    status_code: int | None
    duration_ms: int
    response_excerpt: str = ""
    error: str = ""

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _connect(addresses: list[str], port: int, timeout: float) -> socket.socket:
    last_error: OSError | None = None
    for address in addresses:
        try:
            return socket.create_connection((address, port), timeout=timeout)
        except OSError as exc:
            last_error = exc
    assert last_error is not None  # noqa: S101 - url_resolve returns at least one address
    raise last_error


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, *, addresses: list[str], timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._addresses = addresses

    def connect(self) -> None:
        self.sock = _connect(self._addresses, self.port, self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, *, addresses: list[str], timeout: float) -> None:
        self._tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self._tls)
        self._addresses = addresses

    def connect(self) -> None:
        sock = _connect(self._addresses, self.port, self.timeout)
        self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)


def webhook_post(
    *, url: str, body: bytes, headers: dict[str, str], timeout: float, excerpt_bytes: int
) -> PostOutcome:
    """POST ``body`` to ``url``; never raises for network trouble (the outcome says it)."""
    started = time.monotonic()

    def elapsed_ms() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        parts, addresses = url_resolve(url)
    except UnsafeUrlError as exc:
        return PostOutcome(None, elapsed_ms(), error=f"Refused: {exc}"[:255])
    connection_class = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
    port = parts.port or (443 if parts.scheme == "https" else 80)
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    connection = connection_class(parts.hostname or "", port, addresses=addresses, timeout=timeout)
    try:
        connection.request(
            "POST",
            path,
            body=body,
            headers={
                **headers,
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
            },
        )
        response = connection.getresponse()
        excerpt = response.read(excerpt_bytes).decode("utf-8", errors="replace")
        return PostOutcome(response.status, elapsed_ms(), response_excerpt=excerpt)
    except TimeoutError:
        return PostOutcome(None, elapsed_ms(), error=f"Timed out after {timeout:g} s")
    except (OSError, http.client.HTTPException) as exc:
        return PostOutcome(None, elapsed_ms(), error=f"{type(exc).__name__}: {exc}"[:255])
    finally:
        connection.close()
