"""The tenant API of the security extension: the security log, certificate authorities (their
private keys never shown) and the security-profile raise with its prerequisites. Two tenants
always: another tenant's rows are never listed, its charge point is a 404."""

from typing import Any

import pytest
from rest_framework.test import APIClient

from chargepoints.models import (
    CertificateAuthority,
    ChargePoint,
    Command,
    SecurityEvent,
)
from chargepoints.security.security_log import security_event_log
from csms.tenancy.models import Tenant
from tests.certificates import hierarchy, pem
from tests.charge_point_calls import Answer
from tests.factories import InstalledCertificateFactory

pytestmark = pytest.mark.django_db


def log(tenant: Tenant, identity: str, type: str, **fields: Any) -> SecurityEvent:
    return security_event_log(
        tenant_id=tenant.pk, charge_point_id=None, identity=identity, type=type, **fields
    )


def test_security_events_are_listed_newest_first_and_filtered(
    api: APIClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    log(
        tenant,
        "CP-1",
        "InvalidChargePointCredentials",
        tech_info="wrong",
        source_address="10.0.0.9",
    )
    log(tenant, "CP-2", "BasicAuthLockout")
    log(other_tenant, "CP-1", "InvalidChargePointCredentials")

    everything = api.get("/api/v1/security-events/").json()
    assert [row["type"] for row in everything["results"]] == [
        "BasicAuthLockout",
        "InvalidChargePointCredentials",
    ]
    first = everything["results"][1]
    assert (first["charge_point"], first["source"], first["source_address"]) == (
        "CP-1",
        "central_system",
        "10.0.0.9",
    )
    assert everything["results"][0]["critical"] is True
    assert api.get("/api/v1/security-events/?charge_point=CP-2").json()["count"] == 1
    assert api.get("/api/v1/security-events/?critical=true").json()["count"] == 1
    assert api.get("/api/v1/security-events/?type=BasicAuthLockout").json()["count"] == 1
    assert api.get("/api/v1/security-events/?after=2100-01-01T00:00:00Z").json()["count"] == 0


def test_generated_authorities_never_show_their_keys(
    api: APIClient, other_api: APIClient, tenant: Tenant
) -> None:
    reply = api.post("/api/v1/certificate-authorities/", {"generate": True}, format="json")

    assert reply.status_code == 201, reply.content
    roles = sorted(row["role"] for row in reply.json())
    assert roles == ["central_system_root", "charge_point_ca"]
    assert all(row["has_private_key"] for row in reply.json())
    assert "PRIVATE KEY" not in reply.content.decode()
    stored = CertificateAuthority.objects.filter(tenant=tenant)
    assert all("PRIVATE KEY" not in row.private_key_encrypted for row in stored)
    assert "O=Acme Charging" in stored[0].subject
    assert "PRIVATE KEY" not in api.get("/api/v1/certificate-authorities/").content.decode()
    assert other_api.get("/api/v1/certificate-authorities/").json()["count"] == 0


def charge_point_ca_upload(api: APIClient, certificate: str, **private_key: str) -> Any:
    return api.post(
        "/api/v1/certificate-authorities/",
        {"role": "charge_point_ca", "certificate": certificate, **private_key},
        format="json",
    )


def test_an_uploaded_authority_is_checked(api: APIClient) -> None:
    cas = hierarchy("Acme Charging")
    key_pem = cas.charge_point_ca.private_key_pem()
    good = charge_point_ca_upload(api, pem(cas.charge_point_ca.certificate), private_key=key_pem)
    mismatched = charge_point_ca_upload(api, pem(cas.root.certificate), private_key=key_pem)
    duplicate = charge_point_ca_upload(api, pem(cas.charge_point_ca.certificate))

    assert good.status_code == 201, good.content
    assert mismatched.status_code == 400
    assert "does not belong to the certificate" in mismatched.content.decode()
    assert duplicate.status_code == 409


def test_a_raise_without_its_prerequisites_is_refused_and_queues_nothing(
    api: APIClient, cp: ChargePoint, other_api: APIClient, settings: Any
) -> None:
    settings.TLS_CERT_FILE = ""
    settings.TRUSTED_PROXIES = []
    url = f"/api/v1/charge-points/{cp.identity}/security-profile/"

    no_password = api.post(url, {"profile": 1}, format="json")
    assert no_password.status_code == 400
    assert "set the charge point's password" in no_password.content.decode()
    cp.password_hash = "x"
    cp.save()
    assert "needs TLS" in api.post(url, {"profile": 2}, format="json").content.decode()
    settings.TLS_CERT_FILE = "/somewhere/server.pem"
    no_root = api.post(url, {"profile": 2}, format="json").content.decode()
    assert "needs a Central System root on the charge point" in no_root
    InstalledCertificateFactory(charge_point=cp, certificate_type="CentralSystemRootCertificate")
    assert "Charge Point CA" in api.post(url, {"profile": 3}, format="json").content.decode()
    assert other_api.post(url, {"profile": 2}, format="json").status_code == 404
    assert not Command.objects.exists()

    raised = api.post(url, {"profile": 2}, format="json")
    assert raised.status_code == 202, raised.content
    assert raised.json()["payload"] == {"key": "SecurityProfile", "value": "2"}
    cp.refresh_from_db()
    assert (cp.security_profile, cp.security_profile_pending) == (0, 2)
    # A profile only goes up; the raw commands API obeys the same rules.
    cp.security_profile = 2
    cp.save()
    lower = api.post(
        f"/api/v1/charge-points/{cp.identity}/commands/",
        {"action": "ChangeConfiguration", "payload": {"key": "SecurityProfile", "value": "1"}},
        format="json",
    )
    assert lower.status_code == 400
    assert "only goes up" in lower.content.decode()


def test_certificate_commands_and_the_installed_mirror(
    api: APIClient, other_api: APIClient, cp: ChargePoint, answer: Answer
) -> None:
    url = f"/api/v1/charge-points/{cp.identity}/certificates/"
    sign = api.post(url, {"action": "sign"}, format="json")
    read = api.post(url, {"action": "read"}, format="json")
    no_root = api.post(url, {"action": "install"}, format="json")

    assert sign.status_code == 202
    assert sign.json()[0]["payload"] == {"requestedMessage": "SignChargePointCertificate"}
    assert [c["payload"]["certificateType"] for c in read.json()] == [
        "CentralSystemRootCertificate",
        "ManufacturerRootCertificate",
    ]
    assert no_root.status_code == 400 and "no Central System root" in no_root.content.decode()
    assert other_api.post(url, {"action": "read"}, format="json").status_code == 404

    reported = {
        "hashAlgorithm": "SHA256",
        "issuerNameHash": "a1",
        "issuerKeyHash": "b2",
        "serialNumber": "0F",
    }
    answer(
        Command.objects.get(pk=read.json()[0]["id"]),
        {"status": "Accepted", "certificateHashData": [reported]},
    )
    mirror = api.get(url).json()
    assert [(row["certificate_type"], row["serial_number"]) for row in mirror["installed"]] == [
        ("CentralSystemRootCertificate", "0F")
    ]
    assert mirror["issued"] == []
