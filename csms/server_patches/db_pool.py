"""psycopg's connection pool through a PostgreSQL restart: back within a second, and a quick
"no" while the server is away (issue 16 §7).

Two behaviours of ``psycopg_pool`` stretch a short outage:

* It re-adds lost connections with an exponential backoff (1, 2, 4, 8 … s): a restart of
  a few seconds left OCPP traffic waiting up to 10 s after the server accepted connections
  again. The backoff is capped here at :data:`RECONNECT_DELAY_MAX_SECONDS`: one refused
  connect a second per lost connection costs nothing, and the fleet is served again within a
  second of the restart.
* ``getconn`` waits its full ``timeout`` (``DATABASE_POOL_TIMEOUT``, 10 s) for a connection
  even when the pool's last attempt to connect failed: every API request and every frame
  waited 10 s to learn the database was away, and the API answered after 13 s. While the last
  attempt failed (and none succeeded since), ``getconn`` waits at most
  :data:`OUTAGE_WAIT_SECONDS` (a quarter of a second): the caller's error is quick (a JSON
  503, an InternalError the charger retries), and a connection back meanwhile is still taken.

Everything else of the pool is unchanged; the patch is idempotent and applies to every pool of
the process (Django makes one per database alias).
"""

from time import monotonic
from typing import Any

RECONNECT_DELAY_FIRST_SECONDS = 0.2
RECONNECT_DELAY_MAX_SECONDS = 1.0
OUTAGE_WAIT_SECONDS = 0.25


def install() -> None:
    try:
        from psycopg_pool import base, pool
    except ImportError:  # SQLite only: no pool to patch
        return
    if getattr(pool.ConnectionPool, "_csms_patched", False):
        return

    class CappedBackoff(base.AttemptWithBackoff):  # type: ignore[misc]
        INITIAL_DELAY = RECONNECT_DELAY_FIRST_SECONDS

        def update_delay(self, now: float) -> None:
            super().update_delay(now)
            self.delay: float = min(self.delay, RECONNECT_DELAY_MAX_SECONDS)

    pool.AttemptWithBackoff = CappedBackoff

    connect, getconn = pool.ConnectionPool._connect, pool.ConnectionPool.getconn

    def connect_watched(self: Any, timeout: float | None = None) -> Any:
        try:
            connection = connect(self, timeout)
        except Exception:
            self._csms_connect_failed_at = monotonic()
            raise
        self._csms_connect_failed_at = None
        return connection

    def getconn_outage_aware(self: Any, timeout: float | None = None) -> Any:
        if timeout is None and getattr(self, "_csms_connect_failed_at", None) is not None:
            timeout = min(self.timeout, OUTAGE_WAIT_SECONDS)
        return getconn(self, timeout)

    pool.ConnectionPool._connect = connect_watched
    pool.ConnectionPool.getconn = getconn_outage_aware
    pool.ConnectionPool._csms_patched = True


def database_outage() -> bool:
    """The pool's last attempt to connect failed (and none succeeded since)."""
    from django.db import connection

    pool = getattr(connection, "pool", None)
    return getattr(pool, "_csms_connect_failed_at", None) is not None
