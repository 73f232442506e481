"""``make run``: daphne, a Celery worker and Celery beat as one supervised command.

Each runs as a child process (csms.supervisor): one that dies is restarted after a backoff
while the others go on serving; SIGINT/SIGTERM stop them all, so nothing is left running
behind the operator's back. With ``TLS_CERT_FILE`` and
``TLS_KEY_FILE`` set, the same daphne also serves https:// and wss:// on ``TLS_PORT``
(``csms.tls``), beside plain HTTP.

The children are told where they serve (``HOST``, ``PORT``: the default ``CSMS_PUBLIC_URL``
follows them) and share a fresh metrics directory (``PROMETHEUS_MULTIPROC_DIR``,
``csms.metrics.processes``). "Serving on ..." is printed once daphne accepts connections
(not while it is still starting, among the children's own start-up lines).
"""

import logging
import os
import signal
import socket
import sys
import time
from argparse import ArgumentParser
from pathlib import Path
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from csms.metrics import processes
from csms.supervisor import Supervisor
from csms.tls.endpoint import endpoint_description

logger = logging.getLogger(__name__)

BIN = Path(sys.executable).parent


def tls_endpoint(*, host: str, backlog: int) -> str | None:
    """daphne's ``-e`` for the TLS port, when a certificate is configured."""
    if not settings.TLS_CERT_FILE:
        return None
    return endpoint_description(
        port=settings.TLS_PORT,
        interface=host,
        backlog=backlog,
        certificate=settings.TLS_CERT_FILE,
        private_key=settings.TLS_KEY_FILE,
        alt_certificate=settings.TLS_ALT_CERT_FILE,
        alt_private_key=settings.TLS_ALT_KEY_FILE,
        client_ca=settings.TLS_CLIENT_CA_FILE,
        client_certificate_required=settings.TLS_CLIENT_CERT_REQUIRED,
    )


def daphne_command(*, host: str, port: int, backlog: int) -> list[str]:
    tls = tls_endpoint(host=host, backlog=backlog)
    return [
        str(BIN / "daphne"),
        # A reconnect storm must queue in the kernel, not bounce off a 50-entry backlog.
        "-e",
        f"tcp:port={port}:interface={host}:backlog={backlog}",
        *(["-e", tls] if tls else []),
        # daphne would close every socket after 24 h, cutting the whole fleet at once daily.
        "--websocket_timeout",
        "-1",
        # OCPP has its own heartbeat; a WebSocket ping every 20 s per idle charger is waste.
        "--ping-interval",
        str(settings.OCPP_WEBSOCKET_PING_INTERVAL),
        "--ping-timeout",
        str(settings.OCPP_WEBSOCKET_PING_TIMEOUT),
        # daphne drops a handshake not completed within 5 s; in a reconnect storm thousands
        # queue for longer, and dropping them wastes the work done and brings them back again.
        "--websocket_connect_timeout",
        str(settings.OCPP_WEBSOCKET_CONNECT_TIMEOUT),
        "csms.asgi:application",
    ]


def child_environment(*, host: str, port: int) -> dict[str, str]:
    """The environment of every child: this one, with where daphne serves and an emptied
    metrics directory shared by all of them (one given in the environment is kept, emptied)."""
    metrics_dir = Path(
        os.environ.get(processes.ENVIRONMENT_VARIABLE) or Path(settings.VAR_DIR) / "metrics"
    )
    processes.directory_prepare(metrics_dir)
    return {
        **os.environ,
        "HOST": host,
        "PORT": str(port),
        processes.ENVIRONMENT_VARIABLE: str(metrics_dir),
    }


def listening(host: str, port: int) -> bool:
    probe = "127.0.0.1" if host in ("0.0.0.0", "") else "::1" if host == "::" else host  # noqa: S104
    try:
        with socket.create_connection((probe, port), timeout=0.5):
            return True
    except OSError:
        return False


class Command(BaseCommand):
    help = "Serve HTTP + OCPP WebSockets (daphne) with a Celery worker and beat beside it."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--host", default=settings.HOST, help="HOST (127.0.0.1)")
        parser.add_argument("--port", type=int, default=settings.PORT, help="PORT (8000)")
        parser.add_argument("--backlog", type=int, default=2048)
        parser.add_argument("--no-celery", action="store_true", help="daphne only")

    def handle(self, *args: Any, host: str, port: int, backlog: int, **options: Any) -> None:
        # --quiet: no banners; the worker's and beat's log lines still follow.
        celery = [str(BIN / "celery"), "-A", "csms", "--quiet"]
        commands = {"daphne": daphne_command(host=host, port=port, backlog=backlog)}
        if not options["no_celery"]:
            commands["worker"] = [*celery, "worker", "-l", "INFO", "--concurrency", "2"]
            commands["beat"] = [*celery, "beat", "-l", "INFO"]
        env = child_environment(host=host, port=port)
        supervisor = Supervisor(commands, env=env, log=lambda line: self.stderr.write(line))
        supervisor.start()

        stopping = False

        def stop(signum: int, frame: FrameType | None) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        announced = False
        while not stopping:
            if not announced and listening(host, port):
                self.announce(host=host, port=port)
                announced = True
            supervisor.tend()
            time.sleep(0.5)
        supervisor.stop()

    def announce(self, *, host: str, port: int) -> None:
        """Where it serves, once daphne listens: on stdout, or as a log line in a JSON log."""
        lines = [
            f"Serving on http://{host}:{port}/ (admin: /admin/, API: /api/docs/, "
            f"OCPP: ws://{host}:{port}/ocpp/<tenant>/<identity>)"
        ]
        if settings.TLS_CERT_FILE:
            client = " with client certificates" if settings.TLS_CLIENT_CA_FILE else ""
            lines.append(
                f"Serving TLS on https://{host}:{settings.TLS_PORT}/ "
                f"(wss://{host}:{settings.TLS_PORT}/ocpp/...){client}"
            )
        for line in lines:
            if settings.LOG_FORMAT == "json":
                logger.info(line)
            else:
                self.stdout.write(self.style.SUCCESS(line))
        self.stdout.flush()
