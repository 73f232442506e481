"""While the database is away, HTTP answers a quick, honest 503, never an HTML 500.

A PostgreSQL restart or fail-over surfaces in a view as ``OperationalError`` (or
``InterfaceError`` on a connection the restart cut). The API's exception handler maps it to
its one JSON error shape (csms.api.exceptions); this middleware does the same for everything
else (the admin, the console), so a load balancer and a script both see "unavailable, retry"
(issue 16 §7). The psycopg pool refuses quickly while the server is away
(csms.server_patches.db_pool), so the answer comes within a second.
"""

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.deprecation import MiddlewareMixin

DATABASE_ERRORS = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 5
UNAVAILABLE = {
    "detail": "The database is unavailable; retry shortly.",
    "code": "database_unavailable",
}


def database_unavailable_response() -> JsonResponse:
    response = JsonResponse(UNAVAILABLE, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class DatabaseUnavailableMiddleware(MiddlewareMixin):
    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, DATABASE_ERRORS):
            return database_unavailable_response()
        return None
