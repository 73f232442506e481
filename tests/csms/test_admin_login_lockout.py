"""The admin login is bounded like charge points' Basic auth (issue 19 §1): django-axes counts
failed logins per user name and per address and refuses every attempt during the cool-down,
the right password included."""

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client

pytestmark = pytest.mark.django_db

PASSWORD = "the-right-staff-password-1"


def login(client: Client, username: str, password: str, address: str = "10.1.1.1") -> bool:
    """Whether the admin login form logged in (it redirects on success)."""
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": username, "password": password},
        REMOTE_ADDR=address,
    )
    return response.status_code == 302 and response["Location"] == "/admin/"


def test_a_user_name_is_locked_out_after_its_failed_logins() -> None:
    User.objects.create_superuser("staff", "staff@example.com", PASSWORD)
    client = Client()
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        # From changing addresses: the user name's own count locks it.
        assert not login(client, "staff", "wrong-guess", address=f"10.0.0.{attempt}")

    assert not login(Client(), "staff", PASSWORD, address="10.9.9.9")


def test_a_success_before_the_limit_resets_the_count() -> None:
    User.objects.create_superuser("staff", "staff@example.com", PASSWORD)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert not login(Client(), "staff", "wrong-guess")
    assert login(Client(), "staff", PASSWORD)
    assert not login(Client(), "staff", "wrong-guess")
    assert login(Client(), "staff", PASSWORD)
