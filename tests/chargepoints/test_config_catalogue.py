"""The catalogue of standard OCPP 1.6 configuration keys, and the checks every
ChangeConfiguration passes before it is sent (commands API, configuration PATCH, admin)."""

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from chargepoints.configuration.catalogue import (
    CATALOGUE,
    catalogue_key,
    configuration_change_problem,
    configuration_value_problem,
    configuration_values_equal,
)
from chargepoints.configuration.types import measurands
from chargepoints.models import ChargePoint, Command, ConfigurationKey
from csms.tenancy.models import Tenant
from tests.api_errors import error_summary
from tests.factories import ChargePointFactory

# The specification's chapter 9, key by key: (required, accessibility, type). Written out
# independently of the catalogue so that a wrong declaration fails here.
SPECIFICATION: dict[str, dict[str, tuple[bool, str, str]]] = {
    "Core": {  # OCPP 1.6 §9.1
        "AllowOfflineTxForUnknownId": (False, "RW", "boolean"),
        "AuthorizationCacheEnabled": (False, "RW", "boolean"),
        "AuthorizeRemoteTxRequests": (True, "R/RW", "boolean"),
        "BlinkRepeat": (False, "RW", "integer"),
        "ClockAlignedDataInterval": (True, "RW", "integer"),
        "ConnectionTimeOut": (True, "RW", "integer"),
        "ConnectorPhaseRotation": (True, "RW", "csl"),
        "ConnectorPhaseRotationMaxLength": (False, "R", "integer"),
        "GetConfigurationMaxKeys": (True, "R", "integer"),
        "HeartbeatInterval": (True, "RW", "integer"),
        "LightIntensity": (False, "RW", "integer"),
        "LocalAuthorizeOffline": (True, "RW", "boolean"),
        "LocalPreAuthorize": (True, "RW", "boolean"),
        "MaxEnergyOnInvalidId": (False, "RW", "integer"),
        "MeterValuesAlignedData": (True, "RW", "csl"),
        "MeterValuesAlignedDataMaxLength": (False, "R", "integer"),
        "MeterValuesSampledData": (True, "RW", "csl"),
        "MeterValuesSampledDataMaxLength": (False, "R", "integer"),
        "MeterValueSampleInterval": (True, "RW", "integer"),
        "MinimumStatusDuration": (False, "RW", "integer"),
        "NumberOfConnectors": (True, "R", "integer"),
        "ResetRetries": (True, "RW", "integer"),
        "StopTransactionOnEVSideDisconnect": (True, "RW", "boolean"),
        "StopTransactionOnInvalidId": (True, "RW", "boolean"),
        "StopTxnAlignedData": (True, "RW", "csl"),
        "StopTxnAlignedDataMaxLength": (False, "R", "integer"),
        "StopTxnSampledData": (True, "RW", "csl"),
        "StopTxnSampledDataMaxLength": (False, "R", "integer"),
        "SupportedFeatureProfiles": (True, "R", "csl"),
        "SupportedFeatureProfilesMaxLength": (False, "R", "integer"),
        "TransactionMessageAttempts": (True, "RW", "integer"),
        "TransactionMessageRetryInterval": (True, "RW", "integer"),
        "UnlockConnectorOnEVSideDisconnect": (True, "RW", "boolean"),
        "WebSocketPingInterval": (False, "RW", "integer"),
    },
    "LocalAuthListManagement": {  # §9.2
        "LocalAuthListEnabled": (True, "RW", "boolean"),
        "LocalAuthListMaxLength": (True, "R", "integer"),
        "SendLocalListMaxLength": (True, "R", "integer"),
    },
    "Reservation": {  # §9.3
        "ReserveConnectorZeroSupported": (False, "R", "boolean"),
    },
    "SmartCharging": {  # §9.4
        "ChargeProfileMaxStackLevel": (True, "R", "integer"),
        "ChargingScheduleAllowedChargingRateUnit": (True, "R", "csl"),
        "ChargingScheduleMaxPeriods": (True, "R", "integer"),
        "ConnectorSwitch3to1PhaseSupported": (False, "R", "boolean"),
        "MaxChargingProfilesInstalled": (True, "R", "integer"),
    },
    "Security": {  # OCPP 1.6 Security Whitepaper
        "AdditionalRootCertificateCheck": (False, "R", "boolean"),
        "AuthorizationKey": (False, "W", "string"),
        "CertificateSignedMaxChainSize": (False, "R", "integer"),
        "CertificateStoreMaxLength": (False, "R", "integer"),
        "CpoName": (False, "RW", "string"),
        "SecurityProfile": (False, "RW", "integer"),
    },
}

pytestmark = pytest.mark.django_db


# --- Coverage -----------------------------------------------------------------------------------


def test_every_standard_key_is_declared_and_nothing_else() -> None:
    expected = {key for keys in SPECIFICATION.values() for key in keys}

    assert set(CATALOGUE) == expected
    assert len(CATALOGUE) == 34 + 3 + 1 + 5 + 6


@pytest.mark.parametrize(
    ("profile", "key"), [(p, k) for p, keys in SPECIFICATION.items() for k in keys]
)
def test_each_declaration_matches_the_specification(profile: str, key: str) -> None:
    spec = CATALOGUE[key]
    required, access, kind = SPECIFICATION[profile][key]

    assert (spec.profile, spec.required, spec.access, spec.type.kind) == (
        profile,
        required,
        access,
        kind,
    )
    assert spec.meaning
    assert spec.describe()["key"] == key


def test_units_of_time_and_counts() -> None:
    assert CATALOGUE["HeartbeatInterval"].unit == "seconds"
    assert CATALOGUE["MeterValueSampleInterval"].unit == "seconds"
    assert CATALOGUE["TransactionMessageAttempts"].unit == "times"
    assert CATALOGUE["MaxEnergyOnInvalidId"].unit == "Wh"
    assert CATALOGUE["LightIntensity"].unit == "percent"


def test_measurand_lists_name_their_max_length_key() -> None:
    for key in ("MeterValuesAlignedData", "MeterValuesSampledData", "StopTxnAlignedData"):
        assert CATALOGUE[key].describe()["max_length_key"] == f"{key}MaxLength"
    assert CATALOGUE["StopTxnSampledData"].describe()["choices"] == list(measurands())
    assert "Energy.Active.Import.Register" in measurands()
    assert len(measurands()) == 22  # OCPP 1.6 §7.31, from the official schema


def test_keys_are_found_in_any_case() -> None:
    assert catalogue_key("heartbeatinterval") is CATALOGUE["HeartbeatInterval"]
    assert catalogue_key("HEARTBEATINTERVAL") is CATALOGUE["HeartbeatInterval"]
    assert catalogue_key("VendorSpecificThing") is None


# --- Validation per type ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value"),
    [
        # Booleans, in any case.
        *(("LocalPreAuthorize", value) for value in ["true", "false", "TRUE", "False"]),
        # Non-negative integers.
        *(("HeartbeatInterval", value) for value in ["0", "300", "86400", "2147483647"]),
        # Measurand lists.
        ("MeterValuesSampledData", "Energy.Active.Import.Register"),
        ("MeterValuesSampledData", "Energy.Active.Import.Register,Voltage.L1,Current.Import.L2-N"),
        ("MeterValuesSampledData", "Power.Active.Import, SoC , Temperature"),
        ("MeterValuesSampledData", ""),  # no measurands at all
    ],
)
def test_valid_values_pass(key: str, value: str) -> None:
    assert configuration_change_problem(key, value) is None


@pytest.mark.parametrize("value", ["yes", "1", "", " true", "truee"])
def test_other_booleans_are_refused(value: str) -> None:
    assert configuration_change_problem("LocalPreAuthorize", value) == (
        f'LocalPreAuthorize: must be "true" or "false", not {value!r}'
    )


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("-1", "must be 0 or more, not -1"),
        ("abc", "must be an integer, not 'abc'"),
        ("1.5", "must be an integer, not '1.5'"),
        (" 5", "must be an integer, not ' 5'"),
        ("", "must be an integer, not ''"),
        ("2147483648", "must be 0 or more, not 2147483648"),
    ],
)
def test_bad_integers_are_refused(value: str, problem: str) -> None:
    assert (
        configuration_change_problem("HeartbeatInterval", value) == f"HeartbeatInterval: {problem}"
    )


def test_integer_limits() -> None:
    assert configuration_change_problem("LightIntensity", "100") is None
    assert configuration_change_problem("LightIntensity", "101") == (
        "LightIntensity: must be between 0 and 100, not 101"
    )
    assert configuration_change_problem("SecurityProfile", "4") == (
        "SecurityProfile: must be between 0 and 3, not 4"
    )


def test_security_profile_only_goes_up() -> None:
    reported = {"securityprofile": "2"}

    assert configuration_change_problem("SecurityProfile", "3", reported=reported) is None
    assert configuration_change_problem("SecurityProfile", "1", reported=reported) == (
        "SecurityProfile: can only be increased (the charge point reports 2)"
    )


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("Energy,Voltage", "'Energy' is not a measurand"),
        ("Voltage.L4", "'Voltage.L4' is not a measurand"),
        ("voltage", "'voltage' is not a measurand"),
        ("Voltage,,SoC", "is a comma-separated list with an empty item"),
    ],
)
def test_bad_measurand_lists_are_refused(value: str, problem: str) -> None:
    refused = configuration_change_problem("StopTxnSampledData", value)

    assert refused is not None
    assert refused.startswith(f"StopTxnSampledData: {problem}")


def test_measurand_lists_respect_the_reported_max_length() -> None:
    value = "Voltage,SoC,Temperature"

    assert (
        configuration_change_problem(
            "MeterValuesSampledData", value, reported={"metervaluessampleddatamaxlength": "3"}
        )
        is None
    )
    assert configuration_change_problem(
        "MeterValuesSampledData", value, reported={"metervaluessampleddatamaxlength": "2"}
    ) == (
        "MeterValuesSampledData: lists 3 items; the charge point takes at most 2 "
        "(MeterValuesSampledDataMaxLength)"
    )


def test_phase_rotation_lists() -> None:
    assert configuration_change_problem("ConnectorPhaseRotation", "0.RST, 1.RTS, 2.Unknown") is None
    assert configuration_change_problem("ConnectorPhaseRotation", "RST") is not None
    assert configuration_change_problem("ConnectorPhaseRotation", "1.XYZ") is not None


def test_feature_profile_and_charging_rate_unit_lists() -> None:
    assert configuration_value_problem("SupportedFeatureProfiles", "Core,SmartCharging") is None
    assert configuration_value_problem("SupportedFeatureProfiles", "Core,Billing") == (
        "SupportedFeatureProfiles: 'Billing' is not one of Core, FirmwareManagement, "
        "LocalAuthListManagement, Reservation, SmartCharging, RemoteTrigger"
    )
    assert configuration_value_problem("ChargingScheduleAllowedChargingRateUnit", "Current") is None
    assert configuration_value_problem("ChargingScheduleAllowedChargingRateUnit", "A") is not None


def test_strings() -> None:
    assert configuration_change_problem("CpoName", "Acme Charging B.V.") is None
    assert configuration_change_problem("CpoName", "x" * 501) == (
        "CpoName: must be at most 500 characters"
    )


@pytest.mark.parametrize(
    "key", ["NumberOfConnectors", "SupportedFeatureProfiles", "ChargeProfileMaxStackLevel"]
)
def test_read_only_keys_are_refused(key: str) -> None:
    assert configuration_change_problem(key, "1") == (
        f"{key} is read-only ({CATALOGUE[key].source})"
    )


def test_the_key_is_matched_in_any_case() -> None:
    assert configuration_change_problem("heartbeatinterval", "x") == (
        "HeartbeatInterval: must be an integer, not 'x'"
    )
    assert configuration_change_problem("numberofconnectors", "2") is not None


def test_vendor_specific_keys_pass_unchecked() -> None:
    assert configuration_change_problem("AcmeLedColour", "ultraviolet, maybe") is None
    assert configuration_change_problem("AcmeLedColour", "") is None


def test_values_compare_by_meaning() -> None:
    assert configuration_values_equal("LocalPreAuthorize", "TRUE", "true")
    assert configuration_values_equal("HeartbeatInterval", "060", "60")
    assert configuration_values_equal("MeterValuesSampledData", "SoC, Voltage", "Voltage,SoC")
    assert not configuration_values_equal("MeterValuesSampledData", "SoC", "Voltage,SoC")
    assert not configuration_values_equal("AcmeMode", "ECO", "eco")  # vendor: as strings
    assert not configuration_values_equal("HeartbeatInterval", None, "60")


# --- Every entry point checks before anything is sent -------------------------------------------


@pytest.fixture
def charge_point(tenant: Tenant) -> ChargePoint:
    return ChargePointFactory(tenant=tenant, identity="CP-1")


def post_command(api: APIClient, payload: dict[str, Any]) -> Any:
    return api.post(
        "/api/v1/charge-points/CP-1/commands/",
        {"action": "ChangeConfiguration", "payload": payload},
        format="json",
    )


@pytest.mark.parametrize(
    ("payload", "detail"),
    [
        (
            {"key": "MeterValuesSampledData", "value": "Energy.Active.Import.Register,Bogus"},
            "MeterValuesSampledData: 'Bogus' is not a measurand (optionally with a phase, "
            "e.g. Voltage.L1)",
        ),
        (
            {"key": "HeartbeatInterval", "value": "-5"},
            "HeartbeatInterval: must be 0 or more, not -5",
        ),
        (
            {"key": "StopTransactionOnInvalidId", "value": "yes"},
            'StopTransactionOnInvalidId: must be "true" or "false", not \'yes\'',
        ),
        (
            {"key": "NumberOfConnectors", "value": "4"},
            "NumberOfConnectors is read-only (OCPP 1.6 §9.1)",
        ),
    ],
)
def test_commands_api_refuses_invalid_changes_and_sends_nothing(
    api: APIClient, charge_point: ChargePoint, payload: dict[str, str], detail: str
) -> None:
    response = post_command(api, payload)

    assert response.status_code == 400
    # The configuration service's refusal, as on PATCH …/configuration/ (issue 20 §6).
    assert error_summary(response) == {"detail": detail, "code": "invalid_configuration"}
    assert not Command.objects.exists()


def test_commands_api_passes_valid_and_vendor_keys(
    api: APIClient, charge_point: ChargePoint
) -> None:
    for payload in ({"key": "HeartbeatInterval", "value": "120"}, {"key": "AcmeLed", "value": "?"}):
        assert post_command(api, payload).status_code == 202
    assert [c.payload for c in Command.objects.order_by("id")] == [
        {"key": "HeartbeatInterval", "value": "120"},
        {"key": "AcmeLed", "value": "?"},
    ]


def send_command_url(charge_point: ChargePoint) -> str:
    return reverse("admin:chargepoints_chargepoint_send_command", args=[charge_point.pk])


def admin_change_configuration(
    admin_client: Client, charge_point: ChargePoint, key: str, value: str
) -> Any:
    """A ChangeConfiguration sent with the admin's Send command form."""
    form = {"action": "ChangeConfiguration", "key": key, "value": value}
    return admin_client.post(send_command_url(charge_point), form)


def test_admin_send_command_checks_the_catalogue(
    admin_client: Client, charge_point: ChargePoint
) -> None:
    response = admin_change_configuration(
        admin_client, charge_point, "MeterValueSampleInterval", "soon"
    )

    assert response.status_code == 200
    assert "MeterValueSampleInterval: must be an integer, not &#x27;soon&#x27;" in (
        response.content.decode()
    )
    assert not Command.objects.exists()


def test_admin_send_command_refuses_a_key_the_charge_point_reports_read_only(
    admin_client: Client, charge_point: ChargePoint
) -> None:
    ConfigurationKey.objects.create(
        charge_point=charge_point, key="AcmeLed", value="on", readonly=True
    )
    response = admin_change_configuration(admin_client, charge_point, "acmeled", "off")

    assert "AcmeLed is read-only on this charge point." in response.content.decode()
    assert not Command.objects.exists()


def test_admin_send_command_queues_a_valid_change(
    admin_client: Client, charge_point: ChargePoint
) -> None:
    response = admin_change_configuration(admin_client, charge_point, "LocalPreAuthorize", "TRUE")

    assert response.status_code == 302
    assert Command.objects.get().payload == {"key": "LocalPreAuthorize", "value": "TRUE"}


# --- The catalogue API --------------------------------------------------------------------------


def test_catalogue_api_lists_every_key(api: APIClient) -> None:
    response = api.get("/api/v1/configuration-keys/")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == len(CATALOGUE) == len(body["results"])  # one page of 50
    assert sorted(row["key"] for row in body["results"]) == sorted(CATALOGUE)


def test_catalogue_api_filters_by_profile_and_shows_one_key(api: APIClient) -> None:
    smart = api.get("/api/v1/configuration-keys/?profile=SmartCharging").json()
    one = api.get("/api/v1/configuration-keys/metervaluessampleddata/")

    assert [row["key"] for row in smart["results"]] == [
        "ChargeProfileMaxStackLevel",
        "ChargingScheduleAllowedChargingRateUnit",
        "ChargingScheduleMaxPeriods",
        "ConnectorSwitch3to1PhaseSupported",
        "MaxChargingProfilesInstalled",
    ]
    body = one.json()
    assert one.status_code == 200
    assert {k: body[k] for k in ("key", "profile", "required", "access", "type", "item")} == {
        "key": "MeterValuesSampledData",
        "profile": "Core",
        "required": True,
        "access": "RW",
        "type": "csl",
        "item": "measurand",
    }
    assert body["max_length_key"] == "MeterValuesSampledDataMaxLength"
    assert api.get("/api/v1/configuration-keys/AcmeLed/").status_code == 404


def test_catalogue_api_needs_a_token(db: None) -> None:
    assert APIClient().get("/api/v1/configuration-keys/").status_code == 401
