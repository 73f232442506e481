"""With ``LOG_FORMAT=json``, daphne's access log on stdout becomes JSON log records too.

daphne writes its access log (one NCSA-style line per HTTP request and per WebSocket
connecting, connected, rejected, disconnected) straight to stdout, past the logging module: in
a JSON log stream those lines are the ones a log shipper cannot parse. This sends each entry to
the ``csms.access`` logger instead, with its parts as fields (``client``, ``request``,
``status``, ``size``), so that it is formatted like every other line. An access log daphne was
told to write to a file (``--access-log PATH``) stays as daphne writes it, and so does every
access log in the plain format.
"""

import logging
import sys
from typing import Any

from daphne.access import AccessLogGenerator
from django.conf import settings

access_log = logging.getLogger("csms.access")
_original_write_entry = AccessLogGenerator.write_entry


def _write_entry(
    self: AccessLogGenerator,
    host: Any,
    date: Any,
    request: str,
    status: Any = None,
    length: Any = None,
    ident: Any = None,
    user: Any = None,
) -> None:
    if self.stream is not sys.stdout:
        _original_write_entry(self, host, date, request, status, length, ident, user)
        return
    access_log.info(
        "%s %s %s",
        host,
        request,
        status or "-",
        extra={"client": host, "request": request, "status": status, "size": length},
    )


def install() -> None:
    if settings.LOG_FORMAT == "json" and AccessLogGenerator.write_entry is not _write_entry:
        AccessLogGenerator.write_entry = _write_entry
