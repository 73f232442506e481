"""How many queries one API request costs, for the tests that it does not grow with the data."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient


def list_queries(api: APIClient, url: str) -> int:
    """The queries of a GET of ``url`` (answered 200), after a first one: that one also writes
    the token's last_used_at."""
    api.get(url)
    with CaptureQueriesContext(connection) as captured:
        assert api.get(url).status_code == 200
    return len(captured)
