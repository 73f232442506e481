"""Patches to the server we run under (daphne, autobahn beneath it, psycopg's pool), in one place.

Each module patches one third-party class or function in the process that loads it, says what
it changes and why, and keeps the original behaviour otherwise; each ``install()`` is
idempotent. Delete a module when the upstream server does the right thing itself.

* :mod:`~csms.server_patches.daphne_denial` — daphne 4 turns every handshake refused before
  ``accept`` into 403; OCPP-J needs the status itself (401 bad credentials, 404 unknown charge
  point, OCPP-J §3.2 and §7). It teaches daphne the ASGI ``websocket.http.response``
  extension that other servers (uvicorn, hypercorn) implement already.
* :mod:`~csms.server_patches.autobahn_lazy_debug` — autobahn pretty-prints its options for a
  debug line in every handshake whether or not debug logging is on: a sixth of the event
  loop's CPU in a ramp of 5,000 charge points. It formats only when the line is printed.
* :mod:`~csms.server_patches.daphne_access_log` — with ``LOG_FORMAT=json``, daphne's access
  log (written straight to stdout) goes through the logging module as JSON like every line.
* :mod:`~csms.server_patches.daphne_tls` — daphne puts nothing about TLS in the scope: it adds
  the ASGI TLS extension and the real TCP peer (issue 19), which the handshake's security
  profile check reads (``csms.tls.scope``).
* :mod:`~csms.server_patches.db_pool` — psycopg's pool reconnects with a backoff of up to
  minutes and makes every caller wait its full time-out while PostgreSQL is away: capped to a
  second, and a quick refusal during the outage (issue 16 §7).
* :mod:`~csms.server_patches.headers_deadline` — Twisted's HTTP channel waits for request
  headers as long as bytes trickle in (slowloris): a deadline from accept to the end of the
  headers (issue 16 §8).

:func:`install` is what ``csms.asgi`` runs: all of them.
"""

from csms.server_patches import (
    autobahn_lazy_debug,
    daphne_access_log,
    daphne_denial,
    daphne_tls,
    db_pool,
    headers_deadline,
)


def install() -> None:
    """Install the patches every daphne process of ours runs with (idempotent)."""
    daphne_denial.install()
    autobahn_lazy_debug.install()
    db_pool.install()
    headers_deadline.install()
    daphne_access_log.install()
    daphne_tls.install()
