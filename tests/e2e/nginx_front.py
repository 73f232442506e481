"""deploy/nginx.conf itself in front of a daphne of the test: its ports, upstream and certificate
paths pointed at the test's (``TlsFiles``). Needs an ``nginx`` binary (``NGINX`` is None
without one, and the tests that need it skip, saying so)."""

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from tests.e2e.tls_files import TlsFiles
from tests.servers import ROOT, free_port, running

NGINX = shutil.which("nginx") or next(
    (str(path) for path in (Path("/usr/sbin/nginx"),) if path.exists()), None
)


@contextlib.contextmanager
def nginx_in_front(
    files: TlsFiles, prefix: Path, *, application: str, env: dict[str, str]
) -> Iterator[dict[str, int]]:
    """A daphne of ``application`` (believing the proxy headers) behind nginx; the ports by name."""
    assert NGINX is not None
    daphne_port = free_port()
    daphne = [
        str(Path(sys.executable).parent / "daphne"),
        "-b", "127.0.0.1", "-p", str(daphne_port), "--proxy-headers",
        application,
    ]  # fmt: skip
    ports = {name: free_port() for name in ("plain", "profile2", "profile3")}
    config = (ROOT / "deploy" / "nginx.conf").read_text()
    for old, new in {
        "server web1:8000;\n    server web2:8000;": f"server 127.0.0.1:{daphne_port};",
        "listen 80;": f"listen 127.0.0.1:{ports['plain']};",
        "listen 443 ssl;": f"listen 127.0.0.1:{ports['profile2']} ssl;",
        "listen 8443 ssl;": f"listen 127.0.0.1:{ports['profile3']} ssl;",
        "/etc/nginx/tls/fullchain.pem": files.path("server.pem"),
        "/etc/nginx/tls/privkey.pem": files.path("server-key.pem"),
        "/etc/nginx/tls/rsa-fullchain.pem": files.path("server-rsa.pem"),
        "/etc/nginx/tls/rsa-privkey.pem": files.path("server-rsa-key.pem"),
        "/etc/nginx/tls/charge-point-cas.pem": files.path("charge-point-ca-chain.pem"),
    }.items():
        assert old in config, f"deploy/nginx.conf no longer has {old!r}: update this test"
        config = config.replace(old, new)
    if nginx_version() < (1, 25, 1):
        config = config.replace("    http2 on;\n", "")  # a directive of nginx >= 1.25.1
    (prefix / "nginx.conf").write_text(
        f"pid {prefix}/nginx.pid;\nerror_log {prefix}/error.log;\nevents {{}}\n"
        f"http {{\naccess_log off;\nclient_body_temp_path {prefix}/body;\n"
        f"proxy_temp_path {prefix}/proxy;\n{config}\n}}\n"
    )
    nginx_command = [NGINX, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-g",
                     "daemon off;"]  # fmt: skip
    with (
        running(daphne, env=env, ports=[daphne_port], log=prefix / "daphne.log"),
        running(
            nginx_command,
            env={**os.environ},
            ports=[ports["plain"], ports["profile2"], ports["profile3"]],
            log=prefix / "nginx.log",
        ),
    ):
        yield ports


def nginx_version() -> tuple[int, ...]:
    assert NGINX is not None
    output = subprocess.run([NGINX, "-v"], capture_output=True, text=True, check=True).stderr
    return tuple(int(part) for part in output.strip().rsplit("/", 1)[1].split("."))
