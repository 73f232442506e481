"""One place that turns errors into JSON API answers (STYLE §12), in one shape for every 4xx
and 5xx of ``/api/`` (SPEC §3.3 "every error is one JSON shape")::

    {"type": "validation_error" | "client_error" | "server_error",
     "code": "invalid",                      # what went wrong, for programs
     "detail": "identity: A charge point with this identity already exists.",  # for people
     "errors": [{"attr": "identity", "code": "unique", "detail": "A charge point …"}]}

``detail`` and ``code`` stay where DRF and our domain errors always put them; ``errors`` holds
every problem, ``attr`` the dotted path of the field it is about (``null`` when it is about the
request as a whole). The same body answers an unknown ``/api/…`` path (``handler404``) and a
crash outside a DRF view (``handler500``); the OpenAPI document names it for every operation
(``csms.api.openapi``).
"""

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler, set_rollback

from csms.errors import ConflictError, DomainError
from csms.outage import DATABASE_ERRORS, RETRY_AFTER_SECONDS, UNAVAILABLE

logger = logging.getLogger(__name__)

VALIDATION_ERROR = "validation_error"
CLIENT_ERROR = "client_error"
SERVER_ERROR = "server_error"
# Where DRF puts problems that concern no single field.
_NON_FIELD_KEYS = frozenset({"non_field_errors", "__all__"})


def error_body(
    *, status_code: int, code: str, detail: str, errors: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The API's error shape; ``errors`` defaults to the one problem ``detail`` names."""
    kind = SERVER_ERROR if status_code >= 500 else CLIENT_ERROR
    return {
        "type": kind,
        "code": code,
        "detail": detail,
        "errors": errors
        if errors is not None
        else [{"attr": None, "code": code, "detail": detail}],
    }


def _flatten(details: Any, path: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """DRF's nested ``get_full_details()`` as a flat list of ``{attr, code, detail}``."""
    if isinstance(details, dict) and set(details) == {"message", "code"}:
        attr = ".".join(path) or None
        return [{"attr": attr, "code": str(details["code"]), "detail": str(details["message"])}]
    if isinstance(details, dict):
        found = []
        for key, value in details.items():
            found += _flatten(value, path if key in _NON_FIELD_KEYS else (*path, str(key)))
        return found
    if isinstance(details, list):
        found = []
        for index, value in enumerate(details):
            # A list of messages about one field keeps the field's path; a list of nested
            # objects (many=True) numbers them.
            nested = isinstance(value, dict) and set(value) != {"message", "code"}
            found += _flatten(value, (*path, str(index)) if nested else path)
        return found
    return [{"attr": ".".join(path) or None, "code": "invalid", "detail": str(details)}]


def _validation_body(exc: exceptions.ValidationError) -> dict[str, Any]:
    errors = _flatten(exc.get_full_details())
    detail = "; ".join(
        f"{error['attr']}: {error['detail']}" if error["attr"] else error["detail"]
        for error in errors
    )
    return {"type": VALIDATION_ERROR, "code": "invalid", "detail": detail, "errors": errors}


def _api_exception_body(exc: exceptions.APIException, status_code: int) -> dict[str, Any]:
    if isinstance(exc, exceptions.ValidationError):
        return _validation_body(exc)
    codes = exc.get_codes()
    code = codes if isinstance(codes, str) else exc.default_code
    return error_body(status_code=status_code, code=str(code), detail=str(exc.detail))


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
        set_rollback()
        code = _domain_status(exc)
        return Response(error_body(status_code=code, code=exc.code, detail=exc.message), code)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        )
    response = exception_handler(exc, context)  # Http404, PermissionDenied, APIException
    if response is None:
        # A crash: logged with its traceback here, answered without it (nothing leaked).
        set_rollback()
        logger.error("API view crashed", exc_info=exc)
        code = status.HTTP_500_INTERNAL_SERVER_ERROR
        body = error_body(status_code=code, code="error", detail="Internal server error.")
        return Response(body, status=code)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    assert isinstance(exc, exceptions.APIException)  # noqa: S101 - exception_handler's contract
    response.data = _api_exception_body(exc, response.status_code)
    return response


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """``handler404``: an unknown ``/api/…`` path in the API's shape, HTML elsewhere."""
    if _is_api(request):
        code = status.HTTP_404_NOT_FOUND
        body = error_body(status_code=code, code="not_found", detail="No such API endpoint.")
        return JsonResponse(body, status=code)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: a crash outside a DRF view, in the API's shape under ``/api/``."""
    if _is_api(request):
        code = status.HTTP_500_INTERNAL_SERVER_ERROR
        body = error_body(status_code=code, code="error", detail="Internal server error.")
        return JsonResponse(body, status=code)
    return defaults.server_error(request)
