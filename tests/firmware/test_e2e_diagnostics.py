"""Diagnostics end to end: the tenant asks through the API of the real daphne, the ``ocpp``
charge point receives GetDiagnostics with our upload URL, uploads the file to it over HTTP
(PUT or multipart POST), reports its status, and the tenant downloads what arrived."""

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.files.storage import default_storage
from rest_framework.test import APIClient

from chargepoints.models import ChargePoint
from csms.tenancy.models import Tenant
from csms.tenancy.services import api_token_issue
from firmware.models import DiagnosticsRequest
from tests.async_orm import orm
from tests.firmware.chargers import DIAGNOSTICS_FILE, charger
from tests.http_clients import RawReply, http, http_url, multipart

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

LOG = b"2025-01-01T00:00:00Z boot ok\n\x00\x01 binary tail\n"


@pytest.fixture(autouse=True)
def _remove_received_files(transactional_db: None) -> Iterator[None]:
    """The server stored files under the shared MEDIA_ROOT: leave nothing behind."""
    yield
    for name in DiagnosticsRequest.objects.exclude(file="").values_list("file", flat=True):
        default_storage.delete(name)


@pytest.fixture
def base_url(ocpp_server: str, settings: Any) -> str:
    """The live server's HTTP address, made the public URL GetDiagnostics locations are built
    from (requests are created in this process, so its setting is the one that counts)."""
    settings.CSMS_PUBLIC_URL = http_url(ocpp_server)
    return http_url(ocpp_server)


class TenantApi:
    def __init__(self, base_url: str, token: str) -> None:
        self.base_url, self.token = base_url, token

    async def __call__(self, method: str, path: str, body: bytes | None = None) -> RawReply:
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        return await http(method, f"{self.base_url}/api/v1{path}", body, headers)


@pytest.fixture
def tenant_api(base_url: str, tenant: Tenant) -> TenantApi:
    return TenantApi(base_url, api_token_issue(tenant=tenant).raw)


@pytest.fixture
def other_api(base_url: str, other_tenant: Tenant) -> TenantApi:
    return TenantApi(base_url, api_token_issue(tenant=other_tenant).raw)


async def request_diagnostics(api: APIClient, identity: str) -> dict[str, Any]:
    """POST /diagnostics-requests/ (in this process, where CSMS_PUBLIC_URL is the live
    server's address); the live server delivers the GetDiagnostics."""
    reply = await orm(api.post, "/api/v1/diagnostics-requests/", {"charge_point": identity})
    assert reply.status_code == 201, reply.json()
    return reply.json()


async def status_of(diagnostics_id: int) -> str:
    return await orm(lambda: DiagnosticsRequest.objects.get(pk=diagnostics_id).status)


@pytest.mark.parametrize("method", ["PUT", "multipart POST"])
async def test_charger_uploads_to_our_receiver_and_the_tenant_downloads_the_file(
    charge_point: ChargePoint,
    cp_url: Callable[[str], str],
    base_url: str,
    api: APIClient,
    tenant_api: TenantApi,
    other_api: TenantApi,
    method: str,
) -> None:
    async with charger(cp_url("CP-1"), "CP-1") as cp:
        created = await request_diagnostics(api, "CP-1")
        (get_diagnostics,) = await cp.wait_for("GetDiagnostics")
        location = get_diagnostics["location"]
        token = await orm(lambda: DiagnosticsRequest.objects.get(pk=created["id"]).upload_token)
        assert location == f"{base_url}/uploads/diagnostics/{token}/"

        await cp.notify_diagnostics("Uploading")
        assert await status_of(created["id"]) == "uploading"
        # Uploaded where GetDiagnostics said: into the directory, or to it as a form.
        if method == "PUT":
            uploaded = await http("PUT", location + DIAGNOSTICS_FILE, LOG)
        else:
            body, content_type = multipart("file", DIAGNOSTICS_FILE, LOG)
            uploaded = await http("POST", location, body, {"Content-Type": content_type})
        assert uploaded.status == 201, uploaded.body
        await cp.notify_diagnostics("Uploaded")

    detail = (await tenant_api("GET", f"/diagnostics-requests/{created['id']}/")).json()
    assert (detail["status"], detail["file_name"], detail["file_size"]) == (
        "received",
        DIAGNOSTICS_FILE,
        len(LOG),
    )
    download = await tenant_api("GET", f"/diagnostics-requests/{created['id']}/file/")
    assert download.status == 200
    assert download.body == LOG
    assert download.headers["Content-Disposition"] == f'attachment; filename="{DIAGNOSTICS_FILE}"'
    theirs = await other_api("GET", f"/diagnostics-requests/{created['id']}/file/")
    assert theirs.status == 404
    # The URL was good for one file only.
    again = await http("PUT", location + "again.log", b"more")
    assert again.status == 404
    assert again.json()["code"] == "not_found"


async def test_upload_without_a_valid_token_is_refused(
    charge_point: ChargePoint, base_url: str, api: APIClient
) -> None:
    await request_diagnostics(api, "CP-1")

    guessed = await http("PUT", f"{base_url}/uploads/diagnostics/guessed-token/d.log", LOG)
    bare = await http("POST", f"{base_url}/uploads/diagnostics/", LOG)

    assert guessed.status == 404
    assert guessed.json() == {
        "detail": "Unknown or already used upload location.",
        "code": "not_found",
    }
    assert bare.status == 404
    assert not await orm(DiagnosticsRequest.objects.exclude(file="").exists)
