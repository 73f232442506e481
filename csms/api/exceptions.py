"""One place that turns errors into JSON API answers (STYLE §12)."""

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from csms.errors import ConflictError, DomainError
from csms.outage import DATABASE_ERRORS, RETRY_AFTER_SECONDS, UNAVAILABLE


def _domain_status(exc: DomainError) -> int:
    return (
        status.HTTP_409_CONFLICT if isinstance(exc, ConflictError) else status.HTTP_400_BAD_REQUEST
    )


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DATABASE_ERRORS):
        # A restart or fail-over: 503 and retry, the same JSON shape as every API error.
        return Response(
            UNAVAILABLE,
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    if isinstance(exc, DomainError):
        return Response({"detail": exc.message, "code": exc.code}, status=_domain_status(exc))
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        )
    return exception_handler(exc, context)
