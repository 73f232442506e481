import hashlib
import json
from importlib import resources

import jsonschema
import pytest
from cryptography.hazmat.primitives import serialization

from csms.pki.errors import PkiError
from csms.pki.hash_data import certificate_hash_data, serial_number_hex
from tests.certificates import charge_point_certificate, hierarchy

TENANT = hierarchy()


def test_hash_data_of_a_charge_point_certificate_hashes_its_issuer() -> None:
    leaf = charge_point_certificate(TENANT.charge_point_ca, "CP-1").certificate
    issuer = TENANT.charge_point_ca.certificate

    data = certificate_hash_data(certificate=leaf, issuer=issuer)

    # Whitepaper §6.1 / RFC 6960: the DER of the issuer's name as in the certificate, and the
    # issuer's public key BIT STRING value (for an EC key: the encoded point itself).
    issuer_name_der = leaf.issuer.public_bytes()
    point = issuer.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    assert data.hash_algorithm == "SHA256"
    assert data.issuer_name_hash == hashlib.sha256(issuer_name_der).hexdigest()
    assert data.issuer_key_hash == hashlib.sha256(point).hexdigest()
    assert data.serial_number == f"{leaf.serial_number:X}"


def test_hash_data_of_a_root_is_its_own_issuer() -> None:
    root = TENANT.root.certificate
    assert certificate_hash_data(certificate=root) == certificate_hash_data(
        certificate=root, issuer=root
    )


def test_hash_data_with_a_wrong_issuer_is_refused() -> None:
    leaf = charge_point_certificate(TENANT.charge_point_ca, "CP-1").certificate
    with pytest.raises(PkiError, match="did not sign"):
        certificate_hash_data(certificate=leaf, issuer=TENANT.root.certificate)
    with pytest.raises(PkiError, match="did not sign"):
        certificate_hash_data(certificate=leaf)


@pytest.mark.parametrize(("algorithm", "length"), [("SHA384", 96), ("SHA512", 128)])
def test_hash_data_with_longer_hashes(algorithm: str, length: int) -> None:
    data = certificate_hash_data(certificate=TENANT.root.certificate, algorithm=algorithm)
    assert data.hash_algorithm == algorithm
    assert len(data.issuer_name_hash) == len(data.issuer_key_hash) == length


def test_serial_number_is_hex_without_leading_zeroes() -> None:
    assert serial_number_hex(4095) == "FFF"  # the whitepaper's own example
    assert serial_number_hex(1) == "1"


def test_payload_is_a_valid_delete_certificate_request() -> None:
    data = certificate_hash_data(certificate=TENANT.root.certificate)
    payload = {"certificateHashData": data.to_payload()}
    schema = json.loads(
        resources.files("ocpp.v16").joinpath("schemas", "DeleteCertificate.json").read_text()
    )
    jsonschema.validate(payload, schema)  # the official OCPP 1.6 security-extension schema
    assert set(payload["certificateHashData"]) == {
        "hashAlgorithm",
        "issuerNameHash",
        "issuerKeyHash",
        "serialNumber",
    }


def test_a_chargers_hash_data_matches_case_insensitively_and_with_leading_zeroes() -> None:
    data = certificate_hash_data(certificate=TENANT.root.certificate)
    answer = {
        "hashAlgorithm": "SHA256",
        "issuerNameHash": data.issuer_name_hash.upper(),
        "issuerKeyHash": data.issuer_key_hash.upper(),
        "serialNumber": "00" + data.serial_number.lower(),
    }
    assert data.matches(answer)
    assert not data.matches({**answer, "serialNumber": "1"})
    assert not data.matches({**answer, "hashAlgorithm": "SHA384"})
    assert not data.matches({"hashAlgorithm": "SHA256"})
