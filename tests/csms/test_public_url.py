"""CSMS_PUBLIC_URL (the address GetDiagnostics locations are built on) defaults to the address
this process serves: HOST and PORT, which ``manage.py serve`` passes to its children."""

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from csms.management.commands.serve import child_environment
from csms.metrics.processes import ENVIRONMENT_VARIABLE

ROOT = Path(__file__).resolve().parents[2]


def public_url(**env: str) -> str:
    """settings.CSMS_PUBLIC_URL of a new process with ``env`` (and none of the variables set
    by the test run itself)."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("CSMS_PUBLIC_URL", "HOST", "PORT")
    }
    script = "from django.conf import settings; print(settings.CSMS_PUBLIC_URL)"
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {script}"],
        cwd=ROOT,
        env=environment | {"DJANGO_SETTINGS_MODULE": "csms.settings", **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return result.stdout.strip().splitlines()[-1]


def test_defaults_follow_port_and_host() -> None:
    assert public_url() == "http://127.0.0.1:8000"
    assert public_url(PORT="9191") == "http://127.0.0.1:9191"
    assert public_url(HOST="::1", PORT="9192") == "http://[::1]:9192"
    wildcard = "0.0.0.0"  # noqa: S104 - a HOST value, nothing binds here
    assert public_url(HOST=wildcard, PORT="9193") == f"http://{socket.gethostname()}:9193"


def test_a_given_public_url_wins() -> None:
    assert public_url(PORT="9191", CSMS_PUBLIC_URL="https://csms.example.com") == (
        "https://csms.example.com"
    )


def test_serve_tells_every_child_where_it_serves_and_empties_the_metrics_directory(
    tmp_path: Path, monkeypatch: Any
) -> None:
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    (metrics / "counter_123.db").write_bytes(b"old")
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, str(metrics))
    env = child_environment(host="0.0.0.0", port=9194)  # noqa: S104
    assert (env["HOST"], env["PORT"]) == ("0.0.0.0", "9194")  # noqa: S104
    assert env[ENVIRONMENT_VARIABLE] == str(metrics)
    assert list(metrics.iterdir()) == []


@pytest.mark.parametrize("value", ["yaml", "JSON "])
def test_an_unknown_log_format_is_refused_at_start(value: str) -> None:
    with pytest.raises(subprocess.CalledProcessError) as refused:
        public_url(LOG_FORMAT=value)
    assert "LOG_FORMAT must be plain or json" in refused.value.stderr
