import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]


def run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter with exactly the given CSMS environment."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DEBUG", "ALLOWED_HOSTS"}
    }
    clean["DJANGO_SETTINGS_MODULE"] = "csms.settings"
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def production_output(code: str, *, database_url: str, allowed_hosts: str, **env: str) -> str:
    """What ``code`` prints with the production settings: a database URL, a secret key, hosts."""
    result = run_python(
        code,
        DATABASE_URL=database_url,
        SECRET_KEY="x" * 50,
        ALLOWED_HOSTS=allowed_hosts,
        **env,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


SHOW_SETTINGS = """
import json, django
django.setup()
from django.conf import settings as s
db = s.DATABASES["default"]
print(json.dumps({
    "engine": db["ENGINE"], "name": db["NAME"], "host": db.get("HOST"),
    "pool": "pool" in db.get("OPTIONS", {}),
    "layer": s.CHANNEL_LAYERS["default"]["BACKEND"], "broker": s.CELERY_BROKER_URL,
    "debug": s.DEBUG, "hosts": s.ALLOWED_HOSTS, "secure": s.SESSION_COOKIE_SECURE,
    "beat": s.CELERY_BEAT_SCHEDULER,
}))
"""


def test_embedded_default_when_nothing_is_set() -> None:
    result = run_python(SHOW_SETTINGS)

    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["engine"] == "django.db.backends.sqlite3"
    assert shown["layer"] == "channels.layers.InMemoryChannelLayer"
    assert shown["broker"] == "filesystem://"
    assert shown["debug"] is False
    assert shown["beat"] == "django_celery_beat.schedulers:DatabaseScheduler"


def test_production_settings_come_from_the_environment() -> None:
    shown = json.loads(
        production_output(
            SHOW_SETTINGS,
            database_url="postgres://u:p@db.example:5433/csms",
            allowed_hosts="csms.example,ocpp.example",
            REDIS_URL="redis://cache.example:6380/2",
        )
    )
    assert shown["engine"] == "django.db.backends.postgresql"
    assert (shown["name"], shown["host"]) == ("csms", "db.example")
    assert shown["pool"] is True
    assert shown["layer"] == "channels_redis.core.RedisChannelLayer"
    assert shown["broker"] == "redis://cache.example:6380/2"
    assert shown["hosts"] == ["csms.example", "ocpp.example"]
    assert shown["secure"] is True  # cookies only over TLS in production
    assert shown["debug"] is False


def test_production_refuses_to_start_without_secret_key() -> None:
    result = run_python(SHOW_SETTINGS, DATABASE_URL="postgres://u:p@db.example/csms")

    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_healthz_answers_without_touching_anything() -> None:
    response = Client().get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db(transaction=True)
def test_readyz_names_each_check() -> None:
    response = Client().get("/readyz")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["channel_layer"]["ok"] is True


def test_readyz_fails_clearly_when_the_database_is_unreachable() -> None:
    code = """
import django, json
django.setup()
from django.test import Client
r = Client().get("/readyz")
print(r.status_code); print(r.content.decode())
"""
    output = production_output(
        code,
        database_url="postgres://postgres@127.0.0.1:1/unreachable",
        allowed_hosts="testserver",
        DATABASE_POOL_TIMEOUT="1",
    )

    status, body = output.strip().splitlines()[-2:]
    assert status == "503"
    checks = json.loads(body)["checks"]
    assert checks["database"]["ok"] is False
    assert checks["database"]["error"]
    assert checks["channel_layer"]["ok"] is True


def test_transaction_messages_never_commit_without_waiting_for_the_disk() -> None:
    refused = run_python(
        "import django; django.setup()", OCPP_ASYNC_COMMIT_ACTIONS="Heartbeat,MeterValues"
    )
    allowed = run_python(
        "import django; django.setup(); from django.conf import settings as s; "
        "print(sorted(s.OCPP_ASYNC_COMMIT_ACTIONS))",
        OCPP_ASYNC_COMMIT_ACTIONS="Heartbeat,Authorize",
    )

    assert refused.returncode != 0
    assert "OCPP_ASYNC_COMMIT_ACTIONS may not hold transaction messages" in refused.stderr
    assert "MeterValues" in refused.stderr
    assert allowed.returncode == 0, allowed.stderr
    assert allowed.stdout.strip() == "['Authorize', 'Heartbeat']"
