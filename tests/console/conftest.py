"""Console tests: a logged-in superuser and two tenants' fleets."""

import pytest
from django.contrib.auth.models import User
from django.test import Client


@pytest.fixture
def staff_client(db: None) -> Client:
    user = User.objects.create_superuser("operator", "operator@example.com", "pw-for-tests")
    client = Client()
    client.force_login(user)
    return client
