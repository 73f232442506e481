"""Idempotency keys of the tenant API: the first answer to a POST, kept per token so that a
client that retries (a timeout, a dropped connection) does not create the thing twice.

Claimed before the request is answered, in a transaction of its own, so a concurrent retry sees
the claim and is told to wait (409) instead of doing the work a second time; completed with the
answer when it was a success, released otherwise (a refused request may be fixed and retried
under the same key). A token's expired keys are deleted when it next claims one.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from csms.errors import ConflictError
from csms.tenancy.models import ApiToken, IdempotencyKey


class IdempotencyKeyReusedError(ConflictError):
    code = "idempotency_key_reused"


class IdempotencyKeyInProgressError(ConflictError):
    code = "idempotency_key_in_progress"


@dataclass(frozen=True)
class IdempotencyClaim:
    record: IdempotencyKey
    # True: this request answers it; False: an earlier answer to replay.
    fresh: bool


def idempotency_key_claim(*, token: ApiToken, key: str, fingerprint: str) -> IdempotencyClaim:
    """Claim ``key`` for this request, or find the answer an identical one already got.

    Raises IdempotencyKeyReusedError when the key came with another request, and
    IdempotencyKeyInProgressError while the first request is still being answered.
    """
    now = timezone.now()
    expires_at = now + timedelta(seconds=settings.API_IDEMPOTENCY_KEY_TTL_SECONDS)
    with transaction.atomic():
        IdempotencyKey.objects.filter(token=token, expires_at__lte=now).delete()
        try:
            with transaction.atomic():
                record = IdempotencyKey.objects.create(
                    token=token, key=key, fingerprint=fingerprint, expires_at=expires_at
                )
            return IdempotencyClaim(record=record, fresh=True)
        except IntegrityError:
            existing = IdempotencyKey.objects.get(token=token, key=key)
    if existing.fingerprint != fingerprint:
        raise IdempotencyKeyReusedError(
            "This Idempotency-Key was already used with another request (method, path or body)."
        )
    if existing.status_code is None:
        raise IdempotencyKeyInProgressError(
            "A request with this Idempotency-Key is still being answered; retry in a moment."
        )
    return IdempotencyClaim(record=existing, fresh=False)


def idempotency_key_complete(
    *, record: IdempotencyKey, status_code: int, body: bytes, content_type: str
) -> None:
    """Keep the answer a claimed key's request got (2xx), or release the key (anything else)."""
    if 200 <= status_code < 300:
        IdempotencyKey.objects.filter(pk=record.pk).update(
            status_code=status_code, response_body=body, content_type=content_type[:100]
        )
    else:
        IdempotencyKey.objects.filter(pk=record.pk, status_code__isnull=True).delete()


def idempotency_keys_purge() -> int:
    """Delete every expired key (beat, hourly: a token that never posts again leaves its keys
    behind, which its next claim would otherwise delete)."""
    deleted, _ = IdempotencyKey.objects.filter(expires_at__lte=timezone.now()).delete()
    return deleted
