"""Security profiles 2 and 3 enforced end to end (issue 19 §1 and §2, "Must show"): ``manage.py
serve`` with TLS on loopback, certificates made in the test, the tenant's Charge Point CA in the
database. Every refusal is a 401 and a row of the security log saying why; the full
SignCertificate → CertificateSigned → reconnect-with-the-new-certificate flow, and the raise to
profile 3 that never locks the charger out."""

import datetime as dt
import ssl
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.conf import settings as django_settings
from ocpp.v16 import call

from chargepoints.models import ChargePoint, ChargePointCertificate, SecurityEvent
from chargepoints.security.authorities import certificate_authority_store
from chargepoints.security.certificates import certificate_install
from chargepoints.security.security_log import CentralSystemEvent
from chargepoints.security.upgrade_requests import security_profile_upgrade
from csms.pki.keys import private_key_generate
from csms.pki.signing_requests import csr_create
from csms.tenancy.models import Tenant
from tests.async_orm import orm
from tests.certificates import pem, utc_now
from tests.e2e.command_target import CommandTarget
from tests.e2e.tls_files import TlsFiles
from tests.live_fixtures import wait_for_disconnects
from tests.ocpp_clients import PASSWORD, basic_auth, open_socket, reading, refused_status
from tests.waiting import DELIVERY_TIMEOUT, until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

BOOT = call.BootNotification(charge_point_vendor="Acme", charge_point_model="Wallbox 22")


@pytest.fixture(scope="module")
def tls_serve_env() -> dict[str, str]:
    # The tenant's CA key is stored encrypted by this process: the server must open it.
    return {"SECRET_KEY": django_settings.SECRET_KEY, "OCPP_OUTBOX_POLL_SECONDS": "0.3"}


@pytest.fixture
def served(
    server: dict[str, Any], files: TlsFiles, tenant: Tenant, django_db_blocker: Any
) -> Iterator[dict[str, Any]]:
    """The server, with the tenant's Charge Point CA (the one of ``files``) stored."""
    certificate_authority_store(
        tenant=tenant, role="charge_point_ca", authority=files.tenant.charge_point_ca
    )
    yield server
    with django_db_blocker.unblock():
        wait_for_disconnects()


def wss(server: dict[str, Any], identity: str) -> str:
    return f"wss://127.0.0.1:{server['tls']}/ocpp/acme/{identity}"


def ws(server: dict[str, Any], identity: str) -> str:
    return f"ws://127.0.0.1:{server['plain']}/ocpp/acme/{identity}"


async def security_events(identity: str) -> list[SecurityEvent]:
    return await orm(
        lambda: list(SecurityEvent.objects.filter(identity=identity).order_by("timestamp", "id"))
    )


async def boots_accepted(url: str, identity: str, **options: Any) -> bool:
    async with (
        open_socket(url, **options) as socket,
        reading(CommandTarget(identity, socket)) as cp,
    ):
        return bool((await cp.ask(BOOT)).status == "Accepted")


# --- Profile 2: TLS and Basic auth --------------------------------------------------------------


async def test_profile_2_needs_tls_and_its_password(
    files: TlsFiles, served: dict[str, Any], make_charge_point: Callable[..., ChargePoint]
) -> None:
    await orm(make_charge_point, "CP-2", password=PASSWORD, security_profile=2)
    context = files.client_context()
    auth = basic_auth("CP-2", PASSWORD)

    assert await boots_accepted(wss(served, "CP-2"), "CP-2", ssl=context, additional_headers=auth)
    # The same password over plain ws:// would have travelled in clear: refused.
    assert await refused_status(ws(served, "CP-2"), headers=auth) == 401
    assert await refused_status(wss(served, "CP-2"), ssl=context) == 401

    events = await security_events("CP-2")
    assert [(e.type, e.reported_by_charge_point) for e in events] == [
        (CentralSystemEvent.PROFILE_VIOLATION, False),
        (CentralSystemEvent.INVALID_CREDENTIALS, False),
    ]
    assert "plain ws://" in events[0].tech_info
    assert "missing Basic-auth credentials" in events[1].tech_info
    assert events[0].source_address == "127.0.0.1"


async def test_tenant_minimum_raises_every_charge_point(
    files: TlsFiles,
    served: dict[str, Any],
    tenant: Tenant,
    make_charge_point: Callable[..., ChargePoint],
) -> None:
    await orm(make_charge_point, "CP-0", password=PASSWORD)  # its own profile: 0
    await orm(Tenant.objects.filter(pk=tenant.pk).update, minimum_security_profile=2)

    assert await refused_status(ws(served, "CP-0"), headers=basic_auth("CP-0", PASSWORD)) == 401
    assert await boots_accepted(
        wss(served, "CP-0"),
        "CP-0",
        ssl=files.client_context(),
        additional_headers=basic_auth("CP-0", PASSWORD),
    )


# --- Profile 3: the client certificate ----------------------------------------------------------


async def test_profile_3_charge_point_is_accepted_with_its_certificate(
    files: TlsFiles, served: dict[str, Any], make_charge_point: Callable[..., ChargePoint]
) -> None:
    await orm(make_charge_point, "CP-3", security_profile=3)
    context = files.client_context(files.client("cp-3", "CP-3"))

    assert await boots_accepted(wss(served, "CP-3"), "CP-3", ssl=context)
    assert await security_events("CP-3") == []


def _refused_certificates(files: TlsFiles) -> dict[str, tuple[ssl.SSLContext | None, str, str]]:
    """case: (the charger's TLS context, or None for plain ws://; event type; why)."""
    past = utc_now() - dt.timedelta(days=10)
    return {
        "wrong CA": (
            files.client_context(files.client("foreign", "CP-3", foreign=True)),
            CentralSystemEvent.INVALID_CERTIFICATE,
            "does not chain to the charge point CA",
        ),
        "expired": (
            files.client_context(files.client("expired", "CP-3", now=past, valid_days=1)),
            CentralSystemEvent.INVALID_CERTIFICATE,
            "expired",
        ),
        "subject mismatch": (
            files.client_context(files.client("other", "CP-OTHER")),
            CentralSystemEvent.INVALID_CERTIFICATE,
            "expected the charge point identity 'CP-3'",
        ),
        "no client certificate": (
            files.client_context(),
            CentralSystemEvent.PROFILE_VIOLATION,
            "no client certificate presented",
        ),
        "plain ws://": (None, CentralSystemEvent.PROFILE_VIOLATION, "plain ws://"),
    }


@pytest.mark.parametrize(
    "case", ["wrong CA", "expired", "subject mismatch", "no client certificate", "plain ws://"]
)
async def test_profile_3_refusals_are_logged_with_the_reason(
    case: str,
    files: TlsFiles,
    served: dict[str, Any],
    make_charge_point: Callable[..., ChargePoint],
) -> None:
    await orm(make_charge_point, "CP-3", security_profile=3, password=PASSWORD)
    context, event_type, why = _refused_certificates(files)[case]
    # Even the right password does not stand in for the certificate.
    auth = basic_auth("CP-3", PASSWORD)

    if context is None:
        status = await refused_status(ws(served, "CP-3"), headers=auth)
    else:
        status = await refused_status(wss(served, "CP-3"), ssl=context, headers=auth)

    assert status == 401
    (event,) = await security_events("CP-3")
    assert (event.type, event.reported_by_charge_point) == (event_type, False)
    assert why in event.tech_info


# --- SignCertificate → CertificateSigned → reconnect, and the raise to profile 3 ----------------


async def test_signed_certificate_flow_and_raise_to_profile_3_never_lock_the_charger_out(
    files: TlsFiles,
    served: dict[str, Any],
    tmp_path: Path,
    settings: Any,
    make_charge_point: Callable[..., ChargePoint],
) -> None:
    # This process checks the raise's prerequisites: it must know that TLS is served.
    settings.TLS_CERT_FILE = files.path("server.pem")
    cp_row = await orm(make_charge_point, "CP-S", password=PASSWORD, security_profile=2)
    url, auth = wss(served, "CP-S"), basic_auth("CP-S", PASSWORD)
    key = private_key_generate()

    async with (
        open_socket(url, ssl=files.client_context(), additional_headers=auth) as socket,
        reading(CommandTarget("CP-S", socket)) as cp,
    ):
        assert (await cp.ask(BOOT)).status == "Accepted"
        csr = csr_create(private_key=key, common_name="CP-S", organisation="Acme Charging")
        assert (await cp.ask(call.SignCertificate(csr=csr))).status == "Accepted"
        (signed,) = await cp_calls(cp, "CertificateSigned", 1)
        issued = await until(
            lambda: orm(
                ChargePointCertificate.objects.filter(charge_point=cp_row, answer="Accepted").first
            ),
            what=lambda: "the CertificateSigned answer was not recorded",
        )
        # The whitepaper's order: the root the charger verifies us with, then the raise.
        cp.answers["InstallCertificate"] = {"status": "Accepted"}
        await orm(
            lambda: certificate_install(
                charge_point=ChargePoint.objects.get(pk=cp_row.pk),
                certificate_type="CentralSystemRootCertificate",
                certificate_pem=pem(files.tenant.root.certificate),
            )
        )
        await cp_calls(cp, "InstallCertificate", 1)
        await until(
            lambda: orm(
                SecurityEvent.objects.filter(type=CentralSystemEvent.CERTIFICATE_INSTALLED).exists
            ),
            what=lambda: "the InstallCertificate answer was not recorded",
        )
        cp.answers["ChangeConfiguration"] = {"status": "Accepted"}
        await orm(
            lambda: security_profile_upgrade(
                charge_point=ChargePoint.objects.select_related("tenant").get(pk=cp_row.pk),
                profile=3,
            )
        )
        (raise_call,) = await cp_calls(cp, "ChangeConfiguration", 1)
    assert raise_call == {"key": "SecurityProfile", "value": "3"}

    chain_path, key_path = tmp_path / "cp-s.pem", tmp_path / "cp-s-key.pem"
    chain_path.write_text(signed["certificateChain"])
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    assert issued.serial_number in {
        format(c.serial_number, "X") for c in _certificates(signed["certificateChain"])
    }

    # The raise is pending: the old profile still gets in (a charger that fell back).
    assert await boots_accepted(url, "CP-S", ssl=files.client_context(), additional_headers=auth)
    assert (await orm(ChargePoint.objects.get, pk=cp_row.pk)).security_profile == 2
    # The new certificate, no password: profile 3 reached, and from now on required.
    certificate = (str(chain_path), str(key_path))
    assert await boots_accepted(url, "CP-S", ssl=files.client_context(certificate))
    row = await orm(ChargePoint.objects.get, pk=cp_row.pk)
    assert (row.security_profile, row.security_profile_pending) == (3, None)
    assert await refused_status(url, ssl=files.client_context(), headers=auth) == 401

    types = [event.type for event in await security_events("CP-S")]
    assert types == [
        CentralSystemEvent.CERTIFICATE_SIGNED,
        CentralSystemEvent.CERTIFICATE_INSTALLED,
        CentralSystemEvent.PROFILE_RAISED,
        CentralSystemEvent.PROFILE_VIOLATION,
    ]


async def cp_calls(cp: CommandTarget, action: str, count: int) -> list[dict[str, Any]]:
    async def arrived() -> list[dict[str, Any]]:
        payloads = [frame[3] for frame in cp.calls if frame[2] == action]
        return payloads if len(payloads) >= count else []

    return await until(arrived, within=DELIVERY_TIMEOUT, what=lambda: f"no {action}: {cp.calls}")


def _certificates(chain: str) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(chain.encode())
