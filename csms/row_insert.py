"""Many rows of one model in one plain ``INSERT … VALUES (…), (…)`` statement.

For the per-frame hot path (message-log rows, sampled meter values): ``bulk_create`` builds
model instances, prepares every value through its field and, on PostgreSQL, binds the rows as
arrays (``UNNEST``) that psycopg quotes element by element in Python — together several times
the cost of the insert itself (measured with ``make bench``). Here the statement text is built
once per model, columns and row count, and values are bound as they are: plain Python values
the database adapter understands (str, int, None, aware datetimes). No signals, no defaults, no
JSON fields: give every column.
"""

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from django.db import connections, models

from csms.statements import server_binding_cursor

try:
    import psycopg
    from psycopg import _queries as psycopg_queries
except ImportError:  # SQLite-only installation
    psycopg = psycopg_queries = None

MAX_ROWS_PER_STATEMENT = 500
# Bound parameters per statement: SQLite allows 32,766 (PostgreSQL 65,535).
MAX_PARAMETERS = 30_000


if psycopg_queries is not None and hasattr(psycopg_queries, "MAX_CACHED_STATEMENT_PARAMS"):
    # psycopg parses a statement's ``%s`` placeholders with a regular expression and caches the
    # result only for statements of at most 50 parameters. These have hundreds (nine sampled
    # values of 14 columns; two log rows per call of a batch) and are the same few statements
    # over and over: re-parsing them was a quarter of the database threads' CPU (cProfile of
    # the realistic mix, make bench). Statements here are cached by their text, so the cache
    # holds a bounded number of them.
    psycopg_queries.MAX_CACHED_STATEMENT_PARAMS = max(
        psycopg_queries.MAX_CACHED_STATEMENT_PARAMS, MAX_PARAMETERS
    )


@lru_cache(maxsize=512)
def _statement(
    model: type[models.Model],
    fields: tuple[str, ...],
    rows: int,
    ignore_conflicts: bool,
    alias: str,
) -> str:
    quote = connections[alias].ops.quote_name
    columns = ", ".join(quote(model._meta.get_field(name).column) for name in fields)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    conflict = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
    # Only quoted identifiers from the model's metadata and placeholders: values are bound.
    table = quote(model._meta.db_table)
    return f"INSERT INTO {table} ({columns}) VALUES " + ", ".join([row] * rows) + conflict  # noqa: S608


@lru_cache(maxsize=128)
def _adapters(
    model: type[models.Model], fields: tuple[str, ...], alias: str
) -> tuple[Callable[[Any], Any] | None, ...]:
    """Per column, what turns a value into what the backend stores (only datetimes need it:
    SQLite keeps them as naive UTC text)."""
    ops = connections[alias].ops
    return tuple(
        ops.adapt_datetimefield_value
        if isinstance(model._meta.get_field(name), models.DateTimeField)
        and connections[alias].vendor != "postgresql"
        else None
        for name in fields
    )


def rows_insert(
    model: type[models.Model],
    fields: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    ignore_conflicts: bool = False,
    using: str = "default",
) -> int:
    """Insert ``rows`` (one value per field, in order); returns how many were given."""
    rows = list(rows)
    if not rows:
        return 0
    fields = tuple(fields)
    connection = connections[using]
    adapters = _adapters(model, fields, using)
    if any(adapters):
        rows = [
            tuple(
                adapt(value) if adapt is not None and isinstance(value, datetime) else value
                for adapt, value in zip(adapters, row, strict=True)
            )
            for row in rows
        ]
    per_statement = min(MAX_ROWS_PER_STATEMENT, MAX_PARAMETERS // len(fields))
    with server_binding_cursor(connection) as cursor:
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            sql = _statement(model, fields, len(chunk), ignore_conflicts, using)
            cursor.execute(sql, [value for row in chunk for value in row])
    return len(rows)
