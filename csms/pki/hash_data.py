"""``CertificateHashDataType`` (whitepaper edition 3, §6.1): how DeleteCertificate.req and
GetInstalledCertificateIds.conf name a certificate.

Edition 3 exists to pin this down (§1.1): ``issuerNameHash`` is the hash of the DER encoding of
the issuer's name field of the certificate, ``issuerKeyHash`` the hash of the issuer's public key
(the value of the subject public key BIT STRING, without tag and length), both "in hexbinary
format", as in an OCSP CertID (RFC 6960 §4.1.1); ``serialNumber`` is hexadecimal "without leading
zeroes (and without the prefix 0x)", 4095 being ``"FFF"``. All three are case-insensitive
strings (CiString); we write hashes in lower case and the serial in upper case, as the example.

cryptography's OCSP request builder computes exactly that CertID from the original DER, so it
does the hashing here.
"""

from dataclasses import dataclass
from typing import Literal

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.x509 import ocsp

from csms.pki.errors import PkiError

HashAlgorithm = Literal["SHA256", "SHA384", "SHA512"]
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "SHA256": hashes.SHA256,
    "SHA384": hashes.SHA384,
    "SHA512": hashes.SHA512,
}


@dataclass(frozen=True)
class CertificateHashData:
    hash_algorithm: HashAlgorithm
    issuer_name_hash: str
    issuer_key_hash: str
    serial_number: str

    def to_payload(self) -> dict[str, str]:
        """The wire shape (camelCase), as in DeleteCertificate.req ``certificateHashData``."""
        return {
            "hashAlgorithm": self.hash_algorithm,
            "issuerNameHash": self.issuer_name_hash,
            "issuerKeyHash": self.issuer_key_hash,
            "serialNumber": self.serial_number,
        }

    def matches(self, payload: dict[str, str]) -> bool:
        """Whether a charger's ``certificateHashData`` names this certificate (case-insensitive,
        and tolerant of leading zeroes in the serial, which some chargers send)."""
        try:
            return (
                payload["hashAlgorithm"] == self.hash_algorithm
                and payload["issuerNameHash"].lower() == self.issuer_name_hash
                and payload["issuerKeyHash"].lower() == self.issuer_key_hash
                and int(payload["serialNumber"], 16) == int(self.serial_number, 16)
            )
        except (KeyError, ValueError, AttributeError):
            return False


def certificate_hash_data(
    *,
    certificate: x509.Certificate,
    issuer: x509.Certificate | None = None,
    algorithm: HashAlgorithm = "SHA256",
) -> CertificateHashData:
    """Hash data of ``certificate``; ``issuer`` is the certificate that signed it (omit it for a
    self-signed root, its own issuer). Raises ``PkiError`` when ``issuer`` did not sign it."""
    issuer = issuer or certificate
    try:
        certificate.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        raise PkiError(
            ["the issuer certificate given did not sign this certificate (is it self-signed?)"]
        ) from None
    request = (
        ocsp.OCSPRequestBuilder().add_certificate(certificate, issuer, _HASHES[algorithm]()).build()
    )
    return CertificateHashData(
        hash_algorithm=algorithm,
        issuer_name_hash=request.issuer_name_hash.hex(),
        issuer_key_hash=request.issuer_key_hash.hex(),
        serial_number=serial_number_hex(certificate.serial_number),
    )


def serial_number_hex(serial_number: int) -> str:
    """4095 -> ``"FFF"`` (whitepaper §6.1)."""
    return f"{serial_number:X}"
