from cryptography import x509
from cryptography.x509.oid import NameOID

from csms.pki.subjects import charge_point_subject_problems


def _name(*pairs: tuple[x509.ObjectIdentifier, str]) -> x509.Name:
    return x509.Name([x509.NameAttribute(oid, value) for oid, value in pairs])


def test_subject_with_the_identity_and_organisation_passes() -> None:
    subject = _name(
        (NameOID.COUNTRY_NAME, "NL"),
        (NameOID.ORGANIZATION_NAME, "Acme"),
        (NameOID.COMMON_NAME, "SN-0042"),
    )
    assert charge_point_subject_problems(subject, identity="SN-0042", organisation="Acme") == []


def test_two_common_names_are_ambiguous() -> None:
    subject = _name(
        (NameOID.COMMON_NAME, "SN-0042"),
        (NameOID.COMMON_NAME, "SN-0043"),
        (NameOID.ORGANIZATION_NAME, "Acme"),
    )
    (problem,) = charge_point_subject_problems(subject, identity="SN-0042", organisation="Acme")
    assert problem.startswith("the subject has 2 CN (commonName) values")


def test_the_comparison_is_exact() -> None:
    subject = _name((NameOID.COMMON_NAME, "sn-0042"), (NameOID.ORGANIZATION_NAME, "acme"))
    problems = charge_point_subject_problems(subject, identity="SN-0042", organisation="Acme")
    assert len(problems) == 2


def test_a_url_common_name_is_refused() -> None:
    subject = _name(
        (NameOID.COMMON_NAME, "wss://csms.example.com"), (NameOID.ORGANIZATION_NAME, "Acme")
    )
    problems = charge_point_subject_problems(
        subject, identity="wss://csms.example.com", organisation="Acme"
    )
    assert problems == [
        "subject CN 'wss://csms.example.com' is a URL or an IP address, which a charge point "
        "certificate must not be (whitepaper A00.FR.511)"
    ]
