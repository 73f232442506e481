"""Helpers for tests that run real server processes against the test database."""

import os
import socket
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


def test_database_url() -> str:
    """A DATABASE_URL naming the database pytest-django set up (call inside a db test)."""
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    auth = db["USER"] or ""
    if db.get("PASSWORD"):
        auth += f":{db['PASSWORD']}"
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{auth}@{host}:{port}/{db['NAME']}"


def server_env(**extra: str) -> dict[str, str]:
    """The environment of this test run, pointed at the test database."""
    env = dict(os.environ)
    env["DATABASE_URL"] = test_database_url()
    env.setdefault("SECRET_KEY", "tests-only-not-secret")
    env["DJANGO_SETTINGS_MODULE"] = "csms.settings"
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
