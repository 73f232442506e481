"""Whose certificate it is: the subject rule for a charge point (CSR and certificate alike).

Whitepaper edition 3:

* A00.FR.511: "the subject field SHALL contain a CN (commonName) RDN which consists of the unique
  serial number of the Charge Point. This serial number SHALL NOT be in the format of a URL or an
  IP address"; A00.FR.405: the Central System checks that the CN "contains the unique Serial
  Number of the Charge Point".
* A00.FR.509 / A00.FR.404 / A02.FR.13: the O (organizationName) RDN holds the CPO name, the value
  of the charge point's ``CpoName`` configuration key.

Which string is "the unique serial number"? The charge point identity — the name it connects
with (``/ocpp/<tenant>/<identity>``). The whitepaper's model is a charger identified by its
serial number (A00.FR.429: "the manufacturer is required to give every Charge Point a unique
Serial Number"), and the identity is the only name we know *before* trusting anything the
charger says: the TLS handshake and the CSR check both happen before (or without) a
BootNotification, whose ``chargePointSerialNumber`` is optional and self-reported. So operators of
profile-3 chargers register them under their serial number as identity, and CN must equal it.
"""

import ipaddress

from cryptography import x509
from cryptography.x509.oid import NameOID


def charge_point_subject_problems(
    subject: x509.Name, *, identity: str, organisation: str
) -> list[str]:
    """Why ``subject`` does not name charge point ``identity`` of CPO ``organisation``."""
    problems: list[str] = []
    common_names = _values(subject, NameOID.COMMON_NAME)
    if len(common_names) != 1:
        problems.append(
            f"the subject has {len(common_names)} CN (commonName) values, exactly one is "
            "required: the charge point's identity (whitepaper A00.FR.511)"
        )
    else:
        (common_name,) = common_names
        if common_name != identity:
            problems.append(
                f"subject CN is {common_name!r}, expected the charge point identity {identity!r} "
                "(whitepaper A00.FR.405, A00.FR.511)"
            )
        if _looks_like_url_or_address(common_name):
            problems.append(
                f"subject CN {common_name!r} is a URL or an IP address, which a charge point "
                "certificate must not be (whitepaper A00.FR.511)"
            )
    organisations = _values(subject, NameOID.ORGANIZATION_NAME)
    if len(organisations) != 1:
        problems.append(
            f"the subject has {len(organisations)} O (organizationName) values, exactly one is "
            f"required: the CPO name {organisation!r} (whitepaper A00.FR.509)"
        )
    elif organisations[0] != organisation:
        problems.append(
            f"subject O is {organisations[0]!r}, expected the CPO name {organisation!r} "
            "(whitepaper A00.FR.404, A02.FR.13)"
        )
    return problems


def _values(subject: x509.Name, oid: x509.ObjectIdentifier) -> list[str]:
    return [str(attribute.value) for attribute in subject.get_attributes_for_oid(oid)]


def _looks_like_url_or_address(value: str) -> bool:
    if "://" in value:
        return True
    try:
        ipaddress.ip_address(value.strip("[]"))
    except ValueError:
        return False
    return True
