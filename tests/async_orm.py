"""The ORM from an async test, with the thread's connection handed back after each call."""

from collections.abc import Callable
from typing import Any, TypeVar

from asgiref.sync import sync_to_async
from django.db import connections

T = TypeVar("T")


async def orm(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run ORM work from an async test."""

    def run() -> T:
        try:
            return function(*args, **kwargs)
        finally:
            # The worker thread's connection would outlive the test and keep PostgreSQL from
            # dropping the test database; closing hands it back to the pool.
            connections.close_all()

    return await sync_to_async(run)()
