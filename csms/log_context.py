"""Which charge point, tenant and OCPP message a log line is about, without passing them around.

Every line logged while a connection's work runs names its charge point: the consumer binds
the tenant and identity when the handshake starts (``connection_bind``), the pipeline and the
outbound calls bind the message id of the frame they handle (``message_bind``), and the
database threads inherit both (asgiref's ``sync_to_async`` runs the thread in a copy of the
caller's context; a batch of calls of several charge points binds each call's own, see
``call_bind``). :class:`OcppContextFilter`, on the log handler, copies them onto every record,
where the JSON formatter (``LOG_FORMAT=json``) writes them as fields ``tenant``,
``charge_point`` and ``message_id``.

Per frame this costs a context variable set and reset (``benchmarks/metrics_cost.py`` times
it with the metrics), per log line a lookup (STYLE §6).
"""

import contextvars
import logging
from types import TracebackType

# (tenant slug, charge point identity): a plain tuple, the cheapest thing to build per call.
Connection = tuple[str, str]

# Two variables: binding a frame's message id then costs one set and one reset, no new object.
_connection: contextvars.ContextVar[Connection | None] = contextvars.ContextVar(
    "csms_ocpp_connection", default=None
)
_message_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "csms_ocpp_message_id", default=None
)


def connection_bind(*, tenant: str, charge_point: str) -> None:
    """From now on, in this task (one connection's consumer) and what it starts: this charge
    point's lines."""
    _connection.set((tenant, charge_point))


class message_bind:  # noqa: N801 - used as a function: ``with message_bind(id):``
    """Lines logged in the block are about this message (of the bound charge point)."""

    __slots__ = ("_message_id", "_token")

    def __init__(self, message_id: str) -> None:
        self._message_id = message_id

    def __enter__(self) -> None:
        self._token = _message_id.set(self._message_id)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        _message_id.reset(self._token)


class call_bind:  # noqa: N801 - used as a function: ``with call_bind(...):``
    """Lines logged in the block are about this call (a batch's thread runs the calls of several
    charge points, each under its own)."""

    __slots__ = ("_connection", "_message_id", "_tokens")

    def __init__(self, *, tenant: str, charge_point: str, message_id: str) -> None:
        self._connection: Connection = (tenant, charge_point)
        self._message_id = message_id

    def __enter__(self) -> None:
        self._tokens = (_connection.set(self._connection), _message_id.set(self._message_id))

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        connection, message = self._tokens
        _message_id.reset(message)
        _connection.reset(connection)


def current() -> tuple[Connection | None, str | None]:
    """The connection and message id lines are logged under here."""
    return _connection.get(), _message_id.get()


def connection_context() -> contextvars.Context:
    """A copy of this context that names the connection but no message: for a task the
    connection starts while it handles a frame (it outlives that frame)."""
    context = contextvars.copy_context()
    context.run(_message_id.set, None)
    return context


def process_context() -> contextvars.Context:
    """An empty context: for a task of the whole process that a connection happens to start
    (its lines are about no charge point)."""
    return contextvars.Context()


class OcppContextFilter(logging.Filter):
    """Adds ``tenant``, ``charge_point`` and ``message_id`` to records logged in an OCPP
    connection's context (others pass unchanged); never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        connection = _connection.get()
        if connection is not None:
            tenant, charge_point = connection
            record.__dict__.update(
                tenant=tenant, charge_point=charge_point, message_id=_message_id.get()
            )
        return True
