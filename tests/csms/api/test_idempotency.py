"""Idempotency-Key on every POST that creates something (SPEC §3.3, issue 20 §4)."""

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from chargepoints.models import ChargePoint, Command, IdTag
from csms.tenancy.models import IdempotencyKey, Tenant
from tests.factories import ChargePointFactory

pytestmark = pytest.mark.django_db

ID_TAGS = "/api/v1/id-tags/"


def post(api: APIClient, url: str, body: object, key: str | None = "key-1") -> object:
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return api.post(url, body, format="json", **headers)


def test_the_same_key_and_body_return_the_first_answer_and_create_once(api: APIClient) -> None:
    first = post(api, ID_TAGS, {"id_tag": "TAG-1"})
    again = post(api, ID_TAGS, {"id_tag": "TAG-1"})

    assert first.status_code == 201
    assert (again.status_code, again.json()) == (201, first.json())
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert IdTag.objects.count() == 1


def test_the_same_key_with_another_body_is_a_409(api: APIClient) -> None:
    post(api, ID_TAGS, {"id_tag": "TAG-1"})

    response = post(api, ID_TAGS, {"id_tag": "TAG-2"})

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "idempotency_key_reused"
    assert body["type"] == "client_error"
    assert list(IdTag.objects.values_list("id_tag", flat=True)) == ["TAG-1"]


def test_the_same_key_on_another_path_is_a_409(api: APIClient, tenant: Tenant) -> None:
    post(api, ID_TAGS, {"id_tag": "TAG-1"})

    response = post(api, "/api/v1/charge-points/", {"id_tag": "TAG-1"})

    assert response.status_code == 409
    assert not ChargePoint.objects.exists()


def test_keys_are_kept_per_token(
    api: APIClient, tenant: Tenant, api_client_for: Callable[[Tenant], APIClient]
) -> None:
    second_token = api_client_for(tenant)

    first = post(api, ID_TAGS, {"id_tag": "TAG-1"})
    other = post(second_token, ID_TAGS, {"id_tag": "TAG-2"})

    assert (first.status_code, other.status_code) == (201, 201)
    assert IdTag.objects.count() == 2


def test_a_refused_request_keeps_no_answer_so_the_fixed_one_goes_through(
    api: APIClient,
) -> None:
    refused = post(api, ID_TAGS, {"id_tag": "TAG/1"})
    fixed = post(api, ID_TAGS, {"id_tag": "TAG-1"})

    assert (refused.status_code, fixed.status_code) == (400, 201)
    assert IdempotencyKey.objects.get().status_code == 201


def test_a_request_still_being_answered_is_a_409(api: APIClient) -> None:
    post(api, ID_TAGS, {"id_tag": "TAG-1"})
    IdempotencyKey.objects.update(status_code=None)  # as while the first is under way

    response = post(api, ID_TAGS, {"id_tag": "TAG-1"})

    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_key_in_progress"


def test_an_expired_key_is_forgotten(api: APIClient) -> None:
    post(api, ID_TAGS, {"id_tag": "TAG-1"})
    IdempotencyKey.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    again = post(api, ID_TAGS, {"id_tag": "TAG-1"})

    # Done again, not replayed: this time the tag exists already.
    assert again.status_code == 400
    assert "Idempotent-Replayed" not in again
    assert not IdempotencyKey.objects.exists()


def test_a_key_is_kept_for_the_configured_time(api: APIClient, settings: object) -> None:
    settings.API_IDEMPOTENCY_KEY_TTL_SECONDS = 3600  # type: ignore[attr-defined]
    before = timezone.now()

    post(api, ID_TAGS, {"id_tag": "TAG-1"})

    expires_at = IdempotencyKey.objects.get().expires_at
    assert before + timedelta(seconds=3590) < expires_at < before + timedelta(seconds=3610)


def test_a_command_sent_twice_with_one_key_is_queued_once(api: APIClient, tenant: Tenant) -> None:
    ChargePointFactory(tenant=tenant, identity="CP-1")
    url = "/api/v1/charge-points/CP-1/commands/"
    body = {"action": "Reset", "payload": {"type": "Soft"}}

    first = post(api, url, body)
    again = post(api, url, body)
    typed = post(api, "/api/v1/charge-points/CP-1/reset/", {"type": "Hard"}, key="key-2")
    typed_again = post(api, "/api/v1/charge-points/CP-1/reset/", {"type": "Hard"}, key="key-2")

    assert first.status_code == again.status_code == 202
    assert again.json()["id"] == first.json()["id"]
    assert typed_again.json()["id"] == typed.json()["id"]
    assert Command.objects.count() == 2


def test_without_a_key_every_post_is_done(api: APIClient, tenant: Tenant) -> None:
    ChargePointFactory(tenant=tenant, identity="CP-1")
    url = "/api/v1/charge-points/CP-1/commands/"
    body = {"action": "ClearCache", "payload": {}}

    post(api, url, body, key=None)
    post(api, url, body, key=None)

    assert Command.objects.count() == 2
    assert not IdempotencyKey.objects.exists()


@pytest.mark.parametrize("key", ["", "x" * 256, "bad\nkey"])
def test_an_unusable_key_is_a_400(api: APIClient, key: str) -> None:
    response = post(api, ID_TAGS, {"id_tag": "TAG-1"}, key=key)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_idempotency_key"
    assert not IdTag.objects.exists()


def test_a_key_without_a_valid_token_gets_the_401() -> None:
    response = post(APIClient(), ID_TAGS, {"id_tag": "TAG-1"})

    assert response.status_code == 401
    assert not IdempotencyKey.objects.exists()


def test_the_openapi_document_names_the_header_on_every_post(api: APIClient) -> None:
    document = api.get("/api/schema/?format=json").json()
    posts = [
        (path, operations["post"])
        for path, operations in document["paths"].items()
        if "post" in operations
    ]
    assert len(posts) > 10
    for path, operation in posts:
        names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
        assert "Idempotency-Key" in names, path


def test_expired_keys_are_purged_by_a_beat_task(
    api: APIClient, tenant: Tenant, api_client_for: Callable[[Tenant], APIClient]
) -> None:
    from django_celery_beat.models import PeriodicTask

    from csms.tenancy.tasks import purge_idempotency_keys

    post(api, ID_TAGS, {"id_tag": "TAG-1"}, key="old")
    post(api_client_for(tenant), ID_TAGS, {"id_tag": "TAG-2"}, key="new")
    IdempotencyKey.objects.filter(key="old").update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    assert purge_idempotency_keys.delay().get() == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["new"]
    task = PeriodicTask.objects.get(task="tenancy.purge_idempotency_keys")
    assert (task.enabled, task.interval.every, task.interval.period) == (True, 1, "hours")
