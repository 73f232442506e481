"""Which security profile a charge point must connect with, and whether a handshake meets it
(whitepaper edition 3, §2.3-2.5; issue 19 §1).

A charge point's required profile is the higher of its own and its tenant's minimum; one with
a password set needs at least profile 1 (SPEC §3.2). What a connection achieves:

* profile 1 — Basic auth with the identity as user name and the current password (or one of a
  pending AuthorizationKey rotation, ``rotation``), over plain ``ws://``;
* profile 2 — the same over TLS (our endpoint, or a trusted proxy: ``csms.tls.scope``);
* profile 3 — TLS with a client certificate that chains to the tenant's Charge Point CA and
  names the charge point (CN = identity, O = the tenant's organisation: A00.FR.403-405),
  whatever Basic auth says.

Below the required profile the handshake is refused with 401 and the reason goes to the security
log (A00.FR.407/408); wrong credentials also count towards a lockout (``brute_force``). A raise
of the profile (``security_profile_pending``) takes effect with the first handshake that meets
it; until then the old profile still gets in, so a charger that cannot make the new one falls
back instead of being locked out (whitepaper §1.3).
"""

import datetime as dt
import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cryptography import x509

from chargepoints.passwords import parse_basic_auth, password_matches
from chargepoints.security.rotation import pending_password_match
from chargepoints.security.security_log import CentralSystemEvent
from csms.pki.client_certificates import client_certificate_verify
from csms.tls.extension import TlsExtension

REFUSED_STATUS = 401


def required_profile(*, charge_point_profile: int, tenant_minimum: int, has_password: bool) -> int:
    required = max(charge_point_profile, tenant_minimum)
    # SPEC §3.2: a charge point with a password set presents it, even at "profile 0".
    return max(required, 1) if has_password else required


def connection_profile(*, basic_ok: bool, over_tls: bool, certificate_ok: bool) -> int:
    """The highest profile a connection meets (a verified client certificate implies TLS)."""
    if certificate_ok:
        return 3
    if basic_ok:
        return 2 if over_tls else 1
    return 0


@dataclass(frozen=True)
class HandshakeSubject:
    """What the handshake knows of the charge point and the connection."""

    tenant_id: int
    tenant_slug: str
    organisation: str
    charge_point_id: int
    identity: str
    required: int
    pending: int | None
    password_hash: str
    authorization: bytes | None
    tls: TlsExtension | None
    source: str
    locked_out: bool
    # An AuthorizationKey rotation is pending: a password of it is admitted (and adopted) too,
    # even for a charge point that had none (profile 0 until the rotation).
    rotation_pending: bool = False


@dataclass(frozen=True)
class Admitted:
    profile: int  # the profile this connection met
    adopted_rotation_id: int | None  # it authenticated with a pending AuthorizationKey
    raise_profile_to: int | None  # it met the pending raise


@dataclass(frozen=True)
class Refused:
    reason: str  # the body of the 401: no secret, no detail an attacker could use
    event_type: str
    tech_info: str
    count_as_failure: bool  # wrong credentials: towards the brute-force lockout
    # A row in the security log; not for each attempt during a lockout (the lockout has one),
    # so that a password-guessing run cannot fill the log.
    logged: bool = True
    status: int = REFUSED_STATUS


def handshake_authenticate(
    subject: HandshakeSubject,
    *,
    trusted_charge_point_cas: Callable[[], Sequence[x509.Certificate]],
    now: dt.datetime,
) -> Admitted | Refused:
    """The verdict on one handshake; every side effect (log, counters, adoption) is the
    caller's. ``trusted_charge_point_cas`` is asked only when a certificate must be checked."""
    wanted = {subject.required, *([subject.pending] if subject.pending is not None else [])}
    over_tls = subject.tls is not None
    certificate_problems: list[str] | None = None
    if 3 in wanted and subject.tls is not None and subject.tls["client_cert_chain"]:
        certificate_problems = _certificate_problems(
            subject, subject.tls, trusted_charge_point_cas, now
        )
    certificate_ok = certificate_problems == []

    basic_needed = (
        subject.required in (1, 2) or subject.pending in (1, 2) or subject.rotation_pending
    )
    credentials = parse_basic_auth(subject.authorization) if basic_needed else None
    basic_ok, rotation_id = False, None
    if credentials is not None and not (subject.locked_out and not certificate_ok):
        basic_ok, rotation_id = _basic_auth_check(subject, *credentials)

    achieved = connection_profile(
        basic_ok=basic_ok, over_tls=over_tls, certificate_ok=certificate_ok
    )
    if achieved < subject.required:
        return _refusal(subject, credentials, certificate_problems)
    raise_to = (
        subject.pending
        if subject.pending is not None
        and subject.pending > subject.required
        and achieved >= subject.pending
        else None
    )
    return Admitted(profile=achieved, adopted_rotation_id=rotation_id, raise_profile_to=raise_to)


def _basic_auth_check(
    subject: HandshakeSubject, user: str, password: str
) -> tuple[bool, int | None]:
    # Constant time for the user name too; the password's own comparison is Django's
    # (check_password: constant_time_compare of the PBKDF2 hashes).
    if not hmac.compare_digest(user.encode(), subject.identity.encode()):
        return False, None
    if subject.password_hash and password_matches(password, subject.password_hash):
        return True, None
    if not subject.rotation_pending:
        return False, None
    rotation_id = pending_password_match(charge_point_id=subject.charge_point_id, password=password)
    return rotation_id is not None, rotation_id


def _certificate_problems(
    subject: HandshakeSubject,
    tls: TlsExtension,
    trusted: Callable[[], Sequence[x509.Certificate]],
    now: dt.datetime,
) -> list[str]:
    check = client_certificate_verify(
        chain=tls["client_cert_chain"],
        trusted=trusted(),
        identity=subject.identity,
        organisation=subject.organisation,
        now=now,
    )
    if check.valid:
        # The tenant's own CA is the judge (A00.FR.403): a TLS layer that could not verify the
        # chain only lacked this tenant's CA in its bundle (TLS_CLIENT_CA_FILE not refreshed).
        return []
    problems = list(check.problems)
    if tls["client_cert_error"]:
        # What the TLS layer (our endpoint, or nginx's FAILED:<reason>) found, for the log.
        problems.insert(0, f"TLS: {tls['client_cert_error']}")
    return problems


def _refusal(
    subject: HandshakeSubject,
    credentials: tuple[str, str] | None,
    certificate_problems: list[str] | None,
) -> Refused:
    required = subject.required
    if required >= 2 and subject.tls is None:
        return Refused(
            "TLS required",
            CentralSystemEvent.PROFILE_VIOLATION,
            f"plain ws:// for a security profile {required} charge point (wss:// required)",
            count_as_failure=False,
        )
    if required == 3:
        if certificate_problems is None:
            return Refused(
                "Client certificate required",
                CentralSystemEvent.PROFILE_VIOLATION,
                "no client certificate presented for a security profile 3 charge point",
                count_as_failure=False,
            )
        return Refused(
            "Invalid client certificate",
            CentralSystemEvent.INVALID_CERTIFICATE,
            "; ".join(certificate_problems),
            count_as_failure=False,
        )
    if subject.locked_out:
        return Refused(
            "Invalid credentials",
            CentralSystemEvent.INVALID_CREDENTIALS,
            "refused during a Basic-auth lockout (too many failed attempts)",
            count_as_failure=False,
            logged=False,
        )
    if credentials is None:
        return Refused(
            "Invalid credentials",
            CentralSystemEvent.INVALID_CREDENTIALS,
            f"missing Basic-auth credentials (security profile {required})",
            count_as_failure=False,
        )
    reason = (
        "no password is set for this charge point"
        if not subject.password_hash
        else "wrong Basic-auth credentials"
    )
    return Refused(
        "Invalid credentials",
        CentralSystemEvent.INVALID_CREDENTIALS,
        f"{reason} (security profile {required})",
        count_as_failure=True,
    )
