"""Charge point Basic-auth passwords (OCPP security profile 1/2), stored hashed."""

import base64
import binascii

from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher, check_password, make_password

# OCPP 1.6 security whitepaper: AuthorizationKey / passwords are 16 to 40 characters.
PASSWORD_MIN_LENGTH = 16
PASSWORD_MAX_LENGTH = 40


class ChargePointPasswordHasher(PBKDF2PasswordHasher):
    algorithm = "ocpp_pbkdf2_sha256"

    @property
    def iterations(self) -> int:  # type: ignore[override]
        return settings.OCPP_PASSWORD_ITERATIONS


_HASHER = ChargePointPasswordHasher()


def hash_password(raw: str) -> str:
    return make_password(raw, hasher=_HASHER)


def password_matches(raw: str, encoded: str) -> bool:
    return bool(encoded) and check_password(raw, encoded, preferred=_HASHER)


def password_problem(raw: str) -> str | None:
    """Why ``raw`` cannot be a charge point password, or None."""
    if not PASSWORD_MIN_LENGTH <= len(raw) <= PASSWORD_MAX_LENGTH:
        return f"must be {PASSWORD_MIN_LENGTH}-{PASSWORD_MAX_LENGTH} characters"
    if not raw.isprintable() or not raw.isascii():
        return "must be printable ASCII"
    return None


def parse_basic_auth(header: bytes | None) -> tuple[str, str] | None:
    """``(user, password)`` from an ``Authorization: Basic`` header, or None."""
    if not header:
        return None
    scheme, _, encoded = header.partition(b" ")
    if scheme.lower() != b"basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None
