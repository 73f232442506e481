"""Charge point certificates without a socket (chargepoints.security.certificates): the CSR
checked and signed by the tenant's Charge Point CA, CertificateSigned queued; Install/Delete
with hash data computed from the stored certificate; the renewal before expiry."""

from datetime import timedelta

import pytest
from cryptography import x509
from django.utils import timezone

from chargepoints.models import (
    CertificateSigningRequest,
    ChargePoint,
    ChargePointCertificate,
    Command,
    SecurityEvent,
)
from chargepoints.security.authorities import certificate_authorities_generate
from chargepoints.security.certificates import (
    certificate_delete,
    certificate_install,
    certificate_signed_answered,
    certificates_renew_due,
    sign_certificate_receive,
)
from csms.pki.hash_data import certificate_hash_data
from csms.pki.keys import private_key_generate
from csms.pki.signing_requests import csr_create
from csms.tenancy.models import Tenant

pytestmark = pytest.mark.django_db


def csr_for(identity: str, organisation: str = "Acme Charging") -> str:
    return csr_create(
        private_key=private_key_generate(), common_name=identity, organisation=organisation
    )


def test_a_valid_csr_is_signed_and_sent_back_through_the_outbox(
    tenant: Tenant, cp: ChargePoint
) -> None:
    _root, charge_point_ca = certificate_authorities_generate(tenant=tenant)

    verdict = sign_certificate_receive(
        charge_point_id=cp.pk, identity=cp.identity, csr_pem=csr_for(cp.identity)
    )

    assert verdict.status == "Accepted"
    command = Command.objects.get(action="CertificateSigned")
    leaf, ca = x509.load_pem_x509_certificates(command.payload["certificateChain"].encode())
    assert leaf.subject.rfc4514_string() == "O=Acme Charging,CN=CP-1"
    assert ca.subject.rfc4514_string() == charge_point_ca.subject
    issued = ChargePointCertificate.objects.get(charge_point=cp)
    assert (issued.authority, issued.command, issued.answer) == (charge_point_ca, command, "")
    assert issued.not_after == leaf.not_valid_after_utc
    assert CertificateSigningRequest.objects.get().status == "signed"
    assert SecurityEvent.objects.get().type == "ChargePointCertificateSigned"

    certificate_signed_answered(command_id=command.pk, status="Accepted")
    assert ChargePointCertificate.objects.get().answer == "Accepted"


@pytest.mark.parametrize(
    ("identity", "organisation", "why"),
    [
        ("CP-OTHER", "Acme Charging", "expected the charge point identity 'CP-1'"),
        ("CP-1", "Globex Fleet", "expected the CPO name 'Acme Charging'"),
    ],
)
def test_a_csr_for_someone_else_is_rejected_and_logged(
    tenant: Tenant, cp: ChargePoint, identity: str, organisation: str, why: str
) -> None:
    certificate_authorities_generate(tenant=tenant)

    verdict = sign_certificate_receive(
        charge_point_id=cp.pk, identity=cp.identity, csr_pem=csr_for(identity, organisation)
    )

    assert verdict.status == "Rejected"
    assert not Command.objects.exists()
    request = CertificateSigningRequest.objects.get()
    assert request.status == "refused" and why in request.problems
    event = SecurityEvent.objects.get()
    assert event.type == "CertificateSigningRequestRefused" and why in event.tech_info


def test_without_a_charge_point_ca_nothing_is_signed(cp: ChargePoint) -> None:
    verdict = sign_certificate_receive(
        charge_point_id=cp.pk, identity=cp.identity, csr_pem=csr_for(cp.identity)
    )
    assert verdict.status == "Rejected"
    assert "no Charge Point CA" in CertificateSigningRequest.objects.get().problems


def test_install_sends_the_tenants_root_and_delete_computes_its_hash_data(
    tenant: Tenant, cp: ChargePoint
) -> None:
    root, _ = certificate_authorities_generate(tenant=tenant)

    install = certificate_install(charge_point=cp, certificate_type="CentralSystemRootCertificate")
    delete = certificate_delete(charge_point=cp, certificate_pem=install.payload["certificate"])

    certificate = x509.load_pem_x509_certificate(install.payload["certificate"].encode())
    assert certificate.subject.rfc4514_string() == root.subject
    assert delete.payload == {
        "certificateHashData": certificate_hash_data(certificate=certificate).to_payload()
    }


def test_certificates_close_to_expiry_are_renewed_once(tenant: Tenant, cp: ChargePoint) -> None:
    certificate_authorities_generate(tenant=tenant)
    sign_certificate_receive(charge_point_id=cp.pk, identity=cp.identity, csr_pem=csr_for("CP-1"))
    ChargePointCertificate.objects.update(
        answer="Accepted", not_after=timezone.now() + timedelta(days=3)
    )

    assert certificates_renew_due() == 1
    assert certificates_renew_due() == 0

    trigger = Command.objects.get(action="ExtendedTriggerMessage")
    assert trigger.payload == {"requestedMessage": "SignChargePointCertificate"}
    assert SecurityEvent.objects.filter(type="ChargePointCertificateExpiring").count() == 1
