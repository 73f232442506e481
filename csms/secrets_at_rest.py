"""Secrets the platform must keep for a while but never in clear (issue 19 §1): the new
AuthorizationKey of a ChangeConfiguration waiting in the outbox, say. A sealed value is a Fernet
token (authenticated AES, ``cryptography``) under a key derived with HKDF from ``SECRET_KEY``
and a label per purpose, so a token of one purpose opens nowhere else; ``SECRET_KEY_FALLBACKS``
still open tokens sealed before a key change. Sealed values are opened only where they are
used and dropped as soon as they are not needed any more.
"""

import base64

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


class UnsealError(ValueError):
    """No configured secret opens the token (the key changed without a fallback, or tampering)."""


def secret_seal(plaintext: str, *, purpose: str) -> str:
    return _fernet(settings.SECRET_KEY, purpose).encrypt(plaintext.encode()).decode("ascii")


def secret_unseal(token: str, *, purpose: str) -> str:
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    try:
        return (
            MultiFernet([_fernet(secret, purpose) for secret in secrets])
            .decrypt(token.encode("ascii"))
            .decode()
        )
    except (InvalidToken, UnicodeError):
        raise UnsealError(f"a sealed {purpose} cannot be opened with SECRET_KEY") from None


def _fernet(secret: str, purpose: str) -> Fernet:
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=f"csms sealed: {purpose}".encode()
    ).derive(secret.encode())
    return Fernet(base64.urlsafe_b64encode(derived))
