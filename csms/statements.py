"""Plain statements for the per-frame hot path: written once, prepared by PostgreSQL, cheap to run.

Building an ORM query is most of a transaction message's CPU in its database thread: the idTag
lookup of Authorize, StartTransaction and StopTransaction compiles for about 0.8 ms and runs
for 0.1 ms (``benchmarks.call_cost``, issue 17). Django's psycopg cursors also bind on the
client, so PostgreSQL parses and plans each statement anew: about 1.5 times the database CPU of a
plain server for the same messages (../shared/perf). The few statements every frame runs are
therefore written here as text, with placeholders, and run through a cursor that binds on the
server, which psycopg prepares once a connection ran a statement ``prepare_threshold`` times
(settings: ``DATABASE_PREPARE_THRESHOLD``).

Only for statements a frame runs thousands of times and whose shape never changes; everything
else stays ORM. Values are bound, never formatted in: the text holds only quoted identifiers
from model metadata (:func:`table`, :func:`column`).
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, TypeVar, overload

from django.db import connections, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper
from django.utils.dateparse import parse_datetime

try:
    import psycopg
except ImportError:  # SQLite-only installation
    psycopg = None  # type: ignore[assignment]

M = TypeVar("M", bound=models.Model)


def table(model: type[models.Model], using: str = "default") -> str:
    """The model's table, quoted for the statement text."""
    return connections[using].ops.quote_name(model._meta.db_table)


def column(model: type[models.Model], field: str, using: str = "default") -> str:
    """A field's column, quoted for the statement text."""
    found = model._meta.get_field(field)
    if not isinstance(found, models.Field):
        raise TypeError(f"{model.__name__}.{field} is a relation, not a column")
    return connections[using].ops.quote_name(str(found.column))


def for_update(using: str = "default") -> str:
    """`` FOR UPDATE`` where the database locks rows (SQLite locks the whole database in the
    IMMEDIATE transaction it writes in)."""
    return " FOR UPDATE" if connections[using].features.has_select_for_update else ""


def rows_select(
    sql: str, params: Sequence[Any], *, using: str = "default"
) -> list[tuple[Any, ...]]:
    """The rows of a SELECT, as tuples. Datetimes come back as text from SQLite: read them
    with :func:`aware`."""
    connection = connections[using]
    with server_binding_cursor(connection) as cursor:
        cursor.execute(sql, _adapted(connection, params))
        return list(cursor.fetchall())


def instances_select(
    model: type[M], where: str, params: Sequence[Any], *, lock: bool = False, using: str = "default"
) -> list[M]:
    """Whole ``model`` instances (every concrete field, converted as the ORM converts it) of
    ``SELECT … FROM table WHERE <where>`` (``where`` may end in ORDER BY / LIMIT), locked for
    update if ``lock``: for the few rows a frame reads to change them."""
    connection = connections[using]
    names, converters = _instance_columns(model, using)
    sql = _instances_statement(model, where, lock, using)
    with server_binding_cursor(connection) as cursor:
        cursor.execute(sql, _adapted(connection, params))
        rows = cursor.fetchall()
    instances = []
    for row in rows:
        values = list(row)
        for index, field_converters in converters:
            for convert in field_converters:
                values[index] = convert(values[index], None, connection)
        instances.append(model.from_db(using, names, values))
    return instances


@lru_cache(maxsize=64)
def _instances_statement(model: type[models.Model], where: str, lock: bool, using: str) -> str:
    quote = connections[using].ops.quote_name
    columns = ", ".join(quote(str(field.column)) for field in model._meta.concrete_fields)
    locking = for_update(using) if lock else ""
    return f"SELECT {columns} FROM {table(model, using)} WHERE {where}{locking}"  # noqa: S608


@lru_cache(maxsize=64)
def _instance_columns(
    model: type[models.Model], using: str
) -> tuple[list[str], list[tuple[int, list[Any]]]]:
    """The concrete fields' attribute names, and per column that needs it the converters the
    ORM applies to a selected value (JSON decoded, SQLite's datetimes parsed, …)."""
    connection = connections[using]
    fields = model._meta.concrete_fields
    converters = []
    for index, field in enumerate(fields):
        col = field.get_col(model._meta.db_table)
        # As the compiler: the backend's converters first, then the field's from_db_value.
        column_converters = connection.ops.get_db_converters(col) + col.get_db_converters(
            connection
        )
        if column_converters:
            converters.append((index, column_converters))
    return [field.attname for field in fields], converters


def instance_insert(instance: models.Model, *, using: str = "default") -> bool:
    """Insert ``instance`` (every concrete field as ``save()`` would write it, auto_now ones
    included) unless a unique constraint already holds such a row: then nothing is written and
    False is returned. Its primary key is set from the insert. One statement, where ``save()``
    inside a savepoint to catch the IntegrityError costs three round trips and the compiling."""
    connection = connections[using]
    model = type(instance)
    fields = _insert_fields(model)
    values = [
        field.get_db_prep_save(field.pre_save(instance, True), connection) for field in fields
    ]
    with server_binding_cursor(connection) as cursor:
        cursor.execute(_insert_statement(model, using), values)
        row = cursor.fetchone()
    if row is None:
        return False
    instance.pk = row[0]
    instance._state.adding = False
    instance._state.db = using
    return True


def instance_update(
    instance: models.Model, fields: Sequence[str], *, using: str = "default"
) -> int:
    """Write these fields of ``instance`` (and its auto_now ones), as ``save(update_fields=…)``
    would, in a prepared statement; how many rows changed (0: the row is gone)."""
    connection = connections[using]
    model = type(instance)
    written = _update_fields(model, tuple(fields))
    values = [
        field.get_db_prep_save(field.pre_save(instance, False), connection) for field in written
    ]
    with server_binding_cursor(connection) as cursor:
        cursor.execute(_update_statement(model, tuple(fields), using), [*values, instance.pk])
        return int(cursor.rowcount)


@lru_cache(maxsize=32)
def _update_fields(
    model: type[models.Model], names: tuple[str, ...]
) -> "list[models.Field[Any, Any]]":
    fields = [model._meta.get_field(name) for name in names]
    auto_now = [
        field
        for field in model._meta.concrete_fields
        if getattr(field, "auto_now", False) and field not in fields
    ]
    return [field for field in [*fields, *auto_now] if isinstance(field, models.Field)]


@lru_cache(maxsize=32)
def _update_statement(model: type[models.Model], names: tuple[str, ...], using: str) -> str:
    quote = connections[using].ops.quote_name
    assignments = ", ".join(
        f"{quote(str(field.column))} = %s" for field in _update_fields(model, names)
    )
    pk = quote(str(model._meta.pk.column)) if model._meta.pk is not None else "id"
    return f"UPDATE {table(model, using)} SET {assignments} WHERE {pk} = %s"  # noqa: S608


@lru_cache(maxsize=16)
def _insert_fields(model: type[models.Model]) -> "list[models.Field[Any, Any]]":
    return [field for field in model._meta.concrete_fields if not field.primary_key]


@lru_cache(maxsize=16)
def _insert_statement(model: type[models.Model], using: str) -> str:
    quote = connections[using].ops.quote_name
    fields = _insert_fields(model)
    columns = ", ".join(quote(str(field.column)) for field in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    pk = quote(str(model._meta.pk.column)) if model._meta.pk is not None else "id"
    return (
        f"INSERT INTO {table(model, using)} ({columns}) VALUES ({placeholders}) "  # noqa: S608
        f"ON CONFLICT DO NOTHING RETURNING {pk}"
    )


def rows_change(sql: str, params: Sequence[Any], *, using: str = "default") -> int:
    """Run an UPDATE or DELETE; how many rows it changed."""
    connection = connections[using]
    with server_binding_cursor(connection) as cursor:
        cursor.execute(sql, _adapted(connection, params))
        return int(cursor.rowcount)


@overload
def aware(value: datetime | str) -> datetime: ...
@overload
def aware(value: None) -> None: ...
def aware(value: datetime | str | None) -> datetime | None:
    """A datetime column as selected: aware (UTC) whichever database it came from."""
    if isinstance(value, str):
        parsed = parse_datetime(value)
        if parsed is None:
            raise ValueError(f"not a datetime: {value!r}")
        value = parsed
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def _adapted(connection: BaseDatabaseWrapper, params: Sequence[Any]) -> Sequence[Any]:
    if connection.vendor == "postgresql":
        return params
    # SQLite keeps datetimes as naive UTC text, which is what the ORM would bind.
    adapt = connection.ops.adapt_datetimefield_value
    return [adapt(value) if isinstance(value, datetime) else value for value in params]


def server_binding_cursor(connection: BaseDatabaseWrapper) -> CursorWrapper:
    """A cursor that binds on the server where that is cheaper.

    Django's psycopg cursors bind on the client: each value is quoted into the statement text by
    Python code, one parameter at a time — for hundreds of parameters a tenth of a daphne
    process's CPU under the realistic mix — and the statement is never prepared. A
    server-binding cursor sends them apart, dumped in one call of psycopg's C code, and psycopg
    prepares a statement run often. Wrapped like Django's own, so statements are still logged
    and counted.
    """
    if connection.vendor != "postgresql" or psycopg is None:
        return connection.cursor()
    connection.ensure_connection()
    connection.validate_thread_sharing()
    raw = psycopg.Cursor(connection.connection)
    if connection.queries_logged:
        return _ServerBindingDebugCursor(raw, connection)
    return connection.make_cursor(raw)  # type: ignore[arg-type]  # wraps any DB-API cursor


class _ServerBindingDebugCursor(CursorDebugWrapper):
    """Logs the statement as given: once psycopg prepared it, its record of the executed text
    (what Django logs by default) is empty."""

    def execute(self, sql: Any, params: Any = None) -> Any:
        with self.debug_sql(sql, params, use_last_executed_query=False):
            return self._execute_with_wrappers(sql, params, many=False, executor=self._execute)
