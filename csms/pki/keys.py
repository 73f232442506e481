"""Which keys certificates may carry, how to make them, and how a CA signs.

Whitepaper edition 3, §2.6.1 "Certificate Properties":

* A00.FR.501-503: a private key at least as strong as 112 symmetric bits: RSA of 2048 bits or
  more, elliptic curves of 224 bits or more.
* A00.FR.317/421: the TLS cipher suites are ECDHE-ECDSA and RSA ones, so only RSA and ECDSA keys
  can authenticate a TLS peer at all (no DSA, no Ed25519). Of the curves, the NIST ones BSI
  recommends (A00.FR.504) and every TLS stack knows: P-256, P-384, P-521.
* A00.FR.504/506: hashes of the SHA-2 family (SHA-256 recommended); never SHA-1 or MD5.
* A00.FR.505: the certificate authority signs with RSA-PSS or ECDSA.
"""

import enum

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import (
    CertificateIssuerPrivateKeyTypes,
    CertificatePublicKeyTypes,
    PrivateKeyTypes,
    PublicKeyTypes,
)

MIN_RSA_BITS = 2048
ALLOWED_CURVES = frozenset({"secp256r1", "secp384r1", "secp521r1"})
ALLOWED_SIGNATURE_HASHES = frozenset({"sha256", "sha384", "sha512"})

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


class KeySpec(enum.StrEnum):
    """The keys we generate: ECDSA by default (forward-secret ECDHE-ECDSA suites, small
    certificates for chargers' limited storage); RSA for chargers that only do TLS_RSA suites."""

    EC_P256 = "ec-p256"
    EC_P384 = "ec-p384"
    RSA_2048 = "rsa-2048"
    RSA_3072 = "rsa-3072"
    RSA_4096 = "rsa-4096"


_CURVES: dict[KeySpec, ec.EllipticCurve] = {
    KeySpec.EC_P256: ec.SECP256R1(),
    KeySpec.EC_P384: ec.SECP384R1(),
}
_RSA_BITS = {KeySpec.RSA_2048: 2048, KeySpec.RSA_3072: 3072, KeySpec.RSA_4096: 4096}


def private_key_generate(*, spec: KeySpec = KeySpec.EC_P256) -> PrivateKey:
    if spec in _CURVES:
        return ec.generate_private_key(_CURVES[spec])
    return rsa.generate_private_key(public_exponent=65537, key_size=_RSA_BITS[spec])


def public_key_problems(key: PublicKeyTypes) -> list[str]:
    """Why ``key`` may not be in a certificate of the OCPP hierarchy (empty: it may)."""
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            return [
                f"RSA key of {key.key_size} bits: at least {MIN_RSA_BITS} are required "
                "(whitepaper A00.FR.502)"
            ]
        return []
    if isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.name not in ALLOWED_CURVES:
            return [
                f"elliptic curve {key.curve.name} is not allowed: use P-256, P-384 or P-521 "
                "(whitepaper A00.FR.503-504)"
            ]
        return []
    return [
        f"{key_description(key)} keys are not allowed: RSA of at least 2048 bits or ECDSA "
        "(whitepaper A00.FR.501-503; the cipher suites of A00.FR.317 know no other)"
    ]


def signature_hash_problems(algorithm: hashes.HashAlgorithm | None, *, what: str) -> list[str]:
    """Why the hash ``what`` was signed with is too weak (A00.FR.504, A00.FR.506)."""
    if algorithm is None or algorithm.name not in ALLOWED_SIGNATURE_HASHES:
        name = algorithm.name.upper() if algorithm else "no hash"
        return [f"{what} is signed with {name}: SHA-256, SHA-384 or SHA-512 required (A00.FR.504)"]
    return []


def signature_hash_for(key: PrivateKey) -> hashes.SHA256 | hashes.SHA384 | hashes.SHA512:
    """A hash as strong as the signing key (P-384 and P-521 with SHA-384/512, else SHA-256)."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        if key.curve.key_size >= 521:
            return hashes.SHA512()
        if key.curve.key_size >= 384:
            return hashes.SHA384()
    return hashes.SHA256()


def certificate_sign(
    builder: x509.CertificateBuilder, *, issuer_key: CertificateIssuerPrivateKeyTypes
) -> x509.Certificate:
    """Sign as the whitepaper asks a CA to (A00.FR.505): ECDSA, or RSA with PSS padding."""
    if not isinstance(issuer_key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise TypeError("a CA key is RSA or ECDSA")
    algorithm = signature_hash_for(issuer_key)
    if isinstance(issuer_key, rsa.RSAPrivateKey):
        pss = padding.PSS(mgf=padding.MGF1(algorithm), salt_length=padding.PSS.DIGEST_LENGTH)
        return builder.sign(issuer_key, algorithm, rsa_padding=pss)
    return builder.sign(issuer_key, algorithm)


def public_keys_equal(a: CertificatePublicKeyTypes, b: CertificatePublicKeyTypes) -> bool:
    """Whether two public keys are the same key (compared as SubjectPublicKeyInfo DER)."""
    spki = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return a.public_bytes(*spki) == b.public_bytes(*spki)


def key_description(key: PublicKeyTypes | PrivateKeyTypes) -> str:
    """``"RSA 2048"``, ``"ECDSA secp256r1"``: for problems and admin displays."""
    if isinstance(key, rsa.RSAPublicKey | rsa.RSAPrivateKey):
        return f"RSA {key.key_size}"
    if isinstance(key, ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey):
        return f"ECDSA {key.curve.name}"
    return type(key).__name__.removesuffix("PublicKey").removesuffix("PrivateKey").lstrip("_")
