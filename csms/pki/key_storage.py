"""CA private keys at rest: encrypted, with a key from settings (whitepaper A00.FR.602: "The
private keys belonging to the CPO root certificates MUST be well protected").

A stored key is a Fernet token (AES-128-CBC + HMAC-SHA256, authenticated, from ``cryptography``)
of its PKCS#8 PEM. The Fernet key is derived with HKDF from ``PKI_ENCRYPTION_KEY``, or from
``SECRET_KEY`` when that is not set, under a label of its own: the derived key is not usable for
anything Django signs with the same secret. Rotation like Django's ``SECRET_KEY_FALLBACKS``: the
first secret encrypts, all of them decrypt, and ``private_key_token_rotate`` re-encrypts a token
under the first one. Keys are decrypted only where a signature needs them and never logged.
"""

import base64
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

from csms.pki.errors import PkiError
from csms.pki.keys import PrivateKey

_LABEL = b"csms.pki: private keys of certificate authorities"


def pki_encryption_secrets() -> list[str]:
    """The secrets from settings, the one that encrypts first."""
    if settings.PKI_ENCRYPTION_KEY:
        return [settings.PKI_ENCRYPTION_KEY, *settings.PKI_ENCRYPTION_KEY_FALLBACKS]
    return [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]


def private_key_encrypt(*, private_key: PrivateKey, secret: str) -> str:
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return _fernet(secret).encrypt(pem).decode("ascii")


def private_key_decrypt(*, token: str, secrets: Sequence[str]) -> PrivateKey:
    """Raises ``PkiError`` when no secret opens the token (a changed key, a tampered row)."""
    try:
        pem = _multi_fernet(secrets).decrypt(token.encode("ascii"))
    except (InvalidToken, UnicodeEncodeError):
        raise PkiError(
            [
                "the stored private key cannot be decrypted with PKI_ENCRYPTION_KEY (or its "
                "fallbacks): was the key changed?"
            ]
        ) from None
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, PrivateKey):
        raise PkiError(["the stored private key is neither RSA nor ECDSA"])
    return key


def private_key_token_rotate(*, token: str, secrets: Sequence[str]) -> str:
    """The same key encrypted under ``secrets[0]`` (after a change of PKI_ENCRYPTION_KEY)."""
    try:
        return _multi_fernet(secrets).rotate(token.encode("ascii")).decode("ascii")
    except InvalidToken:
        raise PkiError(
            ["the stored private key cannot be decrypted with any secret given"]
        ) from None


def _fernet(secret: str) -> Fernet:
    if not secret:
        raise PkiError(["no encryption secret: set PKI_ENCRYPTION_KEY (or SECRET_KEY)"])
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_LABEL).derive(
        secret.encode()
    )
    return Fernet(base64.urlsafe_b64encode(derived))


def _multi_fernet(secrets: Sequence[str]) -> MultiFernet:
    if not secrets:
        raise PkiError(["no encryption secret: set PKI_ENCRYPTION_KEY (or SECRET_KEY)"])
    return MultiFernet([_fernet(secret) for secret in secrets])
