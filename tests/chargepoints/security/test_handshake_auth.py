"""The handshake's verdict per security profile (chargepoints.security.handshake_auth), without
a socket: the TLS extension is the dict our endpoint or a trusted proxy would put in the scope."""

import base64
from typing import Any

import pytest

from chargepoints.models import AuthorizationKeyRotation, ChargePoint
from chargepoints.passwords import hash_password
from chargepoints.security.handshake_auth import (
    Admitted,
    HandshakeSubject,
    Refused,
    connection_profile,
    handshake_authenticate,
    required_profile,
)
from chargepoints.security.security_log import CentralSystemEvent
from csms.tls.extension import TlsExtension
from tests.certificates import charge_point_certificate, hierarchy, utc_now

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery-9"


def auth(user: str, password: str) -> bytes:
    return b"Basic " + base64.b64encode(f"{user}:{password}".encode())


def tls(chain: list[str] | None = None, error: str | None = None) -> TlsExtension:
    return TlsExtension(
        server_cert=None,
        client_cert_chain=chain or [],
        client_cert_name=None,
        client_cert_error=error,
        tls_version=0x0304,
        cipher_suite=0x1302,
    )


def subject(charge_point: ChargePoint, **changes: Any) -> HandshakeSubject:
    values: dict[str, Any] = {
        "tenant_id": charge_point.tenant_id,
        "tenant_slug": "acme",
        "organisation": "Acme Charging",
        "charge_point_id": charge_point.pk,
        "identity": charge_point.identity,
        "required": 1,
        "pending": None,
        "password_hash": hash_password(PASSWORD),
        "authorization": auth(charge_point.identity, PASSWORD),
        "tls": None,
        "source": "10.0.0.1",
        "locked_out": False,
    }
    return HandshakeSubject(**(values | changes))


def verdict(s: HandshakeSubject, trusted: list[Any] | None = None) -> Admitted | Refused:
    return handshake_authenticate(s, trusted_charge_point_cas=lambda: trusted or [], now=utc_now())


def test_required_profile_is_the_higher_of_charge_point_and_tenant() -> None:
    assert required_profile(charge_point_profile=1, tenant_minimum=2, has_password=True) == 2
    assert required_profile(charge_point_profile=3, tenant_minimum=0, has_password=False) == 3
    # SPEC §3.2: a password set means Basic auth, whatever the profile says.
    assert required_profile(charge_point_profile=0, tenant_minimum=0, has_password=True) == 1
    assert required_profile(charge_point_profile=0, tenant_minimum=0, has_password=False) == 0


@pytest.mark.parametrize(
    ("basic_ok", "over_tls", "certificate_ok", "profile"),
    [
        (False, False, False, 0),
        (True, False, False, 1),
        (True, True, False, 2),
        (False, True, True, 3),
        (True, True, True, 3),
    ],
)
def test_connection_profile(
    basic_ok: bool, over_tls: bool, certificate_ok: bool, profile: int
) -> None:
    assert (
        connection_profile(basic_ok=basic_ok, over_tls=over_tls, certificate_ok=certificate_ok)
        == profile
    )


def test_profile_1_and_2_admit_the_password(cp: ChargePoint) -> None:
    assert verdict(subject(cp)) == Admitted(1, None, None)
    assert verdict(subject(cp, required=2, tls=tls())) == Admitted(2, None, None)


def test_profile_2_over_plain_websocket_is_a_violation_not_a_guess(cp: ChargePoint) -> None:
    refused = verdict(subject(cp, required=2))
    assert isinstance(refused, Refused)
    assert (refused.status, refused.event_type, refused.count_as_failure) == (
        401,
        CentralSystemEvent.PROFILE_VIOLATION,
        False,
    )


def test_wrong_credentials_count_missing_ones_do_not(cp: ChargePoint) -> None:
    wrong = verdict(subject(cp, authorization=auth(cp.identity, "x" * 20)))
    other_user = verdict(subject(cp, authorization=auth("CP-2", PASSWORD)))
    missing = verdict(subject(cp, authorization=None))
    assert isinstance(wrong, Refused) and wrong.count_as_failure
    assert isinstance(other_user, Refused) and other_user.count_as_failure
    assert isinstance(missing, Refused) and not missing.count_as_failure
    assert "missing" in missing.tech_info and "wrong" in wrong.tech_info


def test_a_lockout_refuses_the_right_password_without_a_row_per_attempt(cp: ChargePoint) -> None:
    refused = verdict(subject(cp, locked_out=True))
    assert isinstance(refused, Refused)
    assert (refused.logged, refused.count_as_failure) == (False, False)


def test_profile_3_needs_a_certificate_of_the_tenants_charge_point_ca(cp: ChargePoint) -> None:
    tenant_cas = hierarchy("Acme Charging")
    good = charge_point_certificate(
        tenant_cas.charge_point_ca, cp.identity, organisation="Acme Charging"
    )
    trusted = [tenant_cas.charge_point_ca.certificate]
    chain = [good.issued.chain_pem]

    assert verdict(subject(cp, required=3, tls=tls(chain), authorization=None), trusted) == (
        Admitted(3, None, None)
    )
    foreign = verdict(subject(cp, required=3, tls=tls(chain)), [hierarchy().root.certificate])
    assert isinstance(foreign, Refused)
    assert foreign.event_type == CentralSystemEvent.INVALID_CERTIFICATE
    # The tenant's CA is the judge: a TLS layer whose bundle lacks it does not refuse by itself,
    # but what it found goes to the log with a refusal.
    tls_error = "unable to get local issuer certificate"
    assert verdict(
        subject(cp, required=3, tls=tls(chain, tls_error), authorization=None), trusted
    ) == Admitted(3, None, None)
    refused = verdict(
        subject(cp, required=3, tls=tls(chain, tls_error)), [hierarchy().root.certificate]
    )
    assert isinstance(refused, Refused) and refused.tech_info.startswith(f"TLS: {tls_error}; ")
    # The password is no substitute for the certificate at profile 3.
    without = verdict(subject(cp, required=3, tls=tls()), trusted)
    assert isinstance(without, Refused) and "no client certificate" in without.tech_info


def test_a_pending_raise_takes_effect_only_when_the_connection_meets_it(cp: ChargePoint) -> None:
    tenant_cas = hierarchy("Acme Charging")
    good = charge_point_certificate(
        tenant_cas.charge_point_ca, cp.identity, organisation="Acme Charging"
    )
    trusted = [tenant_cas.charge_point_ca.certificate]
    pending = {"required": 2, "pending": 3}

    # The old profile still gets in (the charger fell back): never locked out.
    assert verdict(subject(cp, tls=tls(), **pending), trusted) == Admitted(2, None, None)
    assert verdict(
        subject(cp, tls=tls([good.issued.chain_pem]), authorization=None, **pending), trusted
    ) == Admitted(3, None, 3)


def test_a_pending_rotation_password_is_admitted_and_named(cp: ChargePoint) -> None:
    rotation = AuthorizationKeyRotation.objects.create(
        charge_point=cp, password_hash=hash_password("the-new-key-0000042")
    )
    new_key = auth(cp.identity, "the-new-key-0000042")
    assert verdict(subject(cp, authorization=new_key, rotation_pending=True)) == (
        Admitted(1, rotation.pk, None)
    )
    # A charge point without a password until now (profile 0) adopts its first key too.
    first = verdict(
        subject(cp, required=0, password_hash="", authorization=new_key, rotation_pending=True)
    )
    assert first == Admitted(1, rotation.pk, None)
    # No query for rotations when the handshake said none is pending.
    assert isinstance(verdict(subject(cp, authorization=new_key)), Refused)
