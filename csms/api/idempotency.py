"""``Idempotency-Key`` on every POST of ``/api/v1/`` (SPEC §3.3): the same key with the same
request returns the first answer, with ``Idempotent-Replayed: true``; the same key with another
request is a 409 (csms.tenancy.idempotency keeps the keys, per token, with an expiry).

A middleware rather than a view mixin so that every POST route is covered, the sync and the
async views alike, including those other apps add; it reads the token itself (one indexed
query) because it answers before a view, and DRF's authentication, has run. A request without
a valid token passes through and gets the view's 401.
"""

import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework import status

from csms.api.exceptions import error_body
from csms.errors import ConflictError
from csms.tenancy.idempotency import (
    IdempotencyClaim,
    idempotency_key_claim,
    idempotency_key_complete,
)
from csms.tenancy.services import api_token_authenticate

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
API_PREFIX = "/api/v1/"


def _fingerprint(request: HttpRequest) -> str:
    digest = hashlib.sha256()
    for part in (request.method or "", request.path, request.META.get("QUERY_STRING", "")):
        digest.update(part.encode() + b"\0")
    digest.update(request.body)
    return digest.hexdigest()


def _bearer(request: HttpRequest) -> str | None:
    scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
    return raw.strip() if scheme.lower() == "bearer" and raw.strip() else None


def _error(status_code: int, code: str, detail: str) -> JsonResponse:
    return JsonResponse(
        error_body(status_code=status_code, code=code, detail=detail), status=status_code
    )


def _prepare(request: HttpRequest) -> IdempotencyClaim | HttpResponse | None:
    """What to do before the view: nothing (None), answer now, or answer and keep it."""
    key = request.headers.get(HEADER)
    if key is None or request.method != "POST" or not request.path.startswith(API_PREFIX):
        return None
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isprintable():
        return _error(
            status.HTTP_400_BAD_REQUEST,
            "invalid_idempotency_key",
            f"{HEADER} must be 1-{MAX_KEY_LENGTH} printable characters.",
        )
    raw = _bearer(request)
    token = api_token_authenticate(raw=raw) if raw else None
    if token is None:
        return None
    try:
        claim = idempotency_key_claim(token=token, key=key, fingerprint=_fingerprint(request))
    except ConflictError as exc:
        return _error(status.HTTP_409_CONFLICT, exc.code, exc.message)
    if claim.fresh:
        return claim
    record = claim.record
    replay = HttpResponse(
        bytes(record.response_body),
        status=record.status_code or status.HTTP_200_OK,
        content_type=record.content_type or "application/json",
    )
    replay[REPLAYED_HEADER] = "true"
    return replay


def _finish(claim: IdempotencyClaim, response: HttpResponse) -> None:
    streaming = getattr(response, "streaming", False)
    idempotency_key_complete(
        record=claim.record,
        # A streamed answer cannot be kept: released, like a failure.
        status_code=0 if streaming else response.status_code,
        body=b"" if streaming else response.content,
        content_type=response.get("Content-Type", ""),
    )


class IdempotencyMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self._acall(request)
        prepared = _prepare(request)
        if not isinstance(prepared, IdempotencyClaim):
            return prepared if prepared is not None else self.get_response(request)
        response: HttpResponse = self.get_response(request)
        _finish(prepared, response)
        return response

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        get_response: Callable[[HttpRequest], Awaitable[HttpResponse]] = self.get_response
        if request.method != "POST" or HEADER not in request.headers:
            return await get_response(request)
        prepared = await sync_to_async(_prepare)(request)
        if not isinstance(prepared, IdempotencyClaim):
            return prepared if prepared is not None else await get_response(request)
        response = await get_response(request)
        await sync_to_async(_finish)(prepared, response)
        return response
