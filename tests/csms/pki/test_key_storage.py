import base64

import pytest
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import serialization
from django.test import override_settings

from csms.pki.errors import PkiError
from csms.pki.key_storage import (
    pki_encryption_secrets,
    private_key_decrypt,
    private_key_encrypt,
    private_key_token_rotate,
)
from csms.pki.keys import KeySpec, private_key_generate


def _der(key: object) -> bytes:
    return key.private_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@pytest.mark.parametrize("spec", [KeySpec.EC_P256, KeySpec.RSA_2048])
def test_encrypted_key_decrypts_to_the_same_key(spec: KeySpec) -> None:
    key = private_key_generate(spec=spec)

    token = private_key_encrypt(private_key=key, secret="s3cret")

    assert _der(private_key_decrypt(token=token, secrets=["s3cret"])) == _der(key)


def test_the_token_holds_no_key_material_in_clear() -> None:
    key = private_key_generate()
    token = private_key_encrypt(private_key=key, secret="s3cret")
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    body = "".join(pem.splitlines()[1:-1])
    assert "PRIVATE KEY" not in token
    assert body[:40] not in token


def test_another_secret_cannot_decrypt() -> None:
    token = private_key_encrypt(private_key=private_key_generate(), secret="s3cret")
    with pytest.raises(PkiError, match="cannot be decrypted"):
        private_key_decrypt(token=token, secrets=["other"])


def test_a_tampered_token_is_refused() -> None:
    token = private_key_encrypt(private_key=private_key_generate(), secret="s3cret")
    tampered = token[:-6] + ("A" if token[-6] != "A" else "B") + token[-5:]
    with pytest.raises(PkiError):
        private_key_decrypt(token=tampered, secrets=["s3cret"])


def test_rotation_keeps_old_tokens_readable_and_moves_them_to_the_new_secret() -> None:
    key = private_key_generate()
    old_token = private_key_encrypt(private_key=key, secret="old")

    assert _der(private_key_decrypt(token=old_token, secrets=["new", "old"])) == _der(key)
    rotated = private_key_token_rotate(token=old_token, secrets=["new", "old"])

    assert _der(private_key_decrypt(token=rotated, secrets=["new"])) == _der(key)


@override_settings(PKI_ENCRYPTION_KEY="", SECRET_KEY="django-secret", SECRET_KEY_FALLBACKS=["was"])
def test_secrets_default_to_secret_key_and_its_fallbacks() -> None:
    assert pki_encryption_secrets() == ["django-secret", "was"]


@override_settings(PKI_ENCRYPTION_KEY="pki", PKI_ENCRYPTION_KEY_FALLBACKS=["pki-old"])
def test_secrets_come_from_pki_encryption_key_when_set() -> None:
    assert pki_encryption_secrets() == ["pki", "pki-old"]


def test_the_key_is_derived_not_the_secret_itself() -> None:
    # A Fernet key made straight from the secret's bytes would decrypt; ours must not.
    secret = "x" * 32
    token = private_key_encrypt(private_key=private_key_generate(), secret=secret)
    naive = Fernet(base64.urlsafe_b64encode(secret.encode()))
    with pytest.raises(InvalidToken):
        naive.decrypt(token.encode())
