"""What a signed firmware campaign must carry (whitepaper §4.1, SignedUpdateFirmware.req): the
PEM of the certificate that signed the image and the Base64 signature. Checked when the
campaign is created, so that no charger is sent something it can only answer
InvalidCertificate to because of a typo."""

import base64
import binascii

from cryptography import x509

# FirmwareType.signingCertificate is a string of at most 5500 characters, signature 800.
SIGNING_CERTIFICATE_MAX_LENGTH = 5500
SIGNATURE_MAX_LENGTH = 800


def signed_firmware_problems(*, signing_certificate: str, signature: str) -> dict[str, str]:
    """By field: why these cannot go into SignedUpdateFirmware.req (empty: they can)."""
    problems: dict[str, str] = {}
    if not signing_certificate:
        problems["signing_certificate"] = "Required for a signed campaign."
    elif len(signing_certificate) > SIGNING_CERTIFICATE_MAX_LENGTH:
        problems["signing_certificate"] = f"At most {SIGNING_CERTIFICATE_MAX_LENGTH} characters."
    else:
        try:
            x509.load_pem_x509_certificate(signing_certificate.encode())
        except ValueError:
            problems["signing_certificate"] = "Not a PEM-encoded X.509 certificate."
    if not signature:
        problems["signature"] = "Required for a signed campaign."
    elif len(signature) > SIGNATURE_MAX_LENGTH:
        problems["signature"] = f"At most {SIGNATURE_MAX_LENGTH} characters."
    else:
        try:
            base64.b64decode(signature, validate=True)
        except (binascii.Error, ValueError):
            problems["signature"] = "Not Base64."
    return problems
