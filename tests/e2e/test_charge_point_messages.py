"""Every Charge-Point-initiated action, sent by the ``ocpp`` package's client to a real daphne."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from ocpp.v16 import call

from chargepoints.models import (
    CertificateSigningRequest,
    ChargePoint,
    Connector,
    ConnectorStatusChange,
    DataTransferMessage,
    IdTag,
    IdTagStatus,
    SecurityEvent,
)
from csms.tenancy.models import Tenant
from firmware.models import StatusReport, StatusReportKind
from tests.async_orm import orm
from tests.ocpp_clients import ocpp_client
from transactions.models import MeterValue, Transaction, UnmatchedTransactionMessage

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value)


@pytest.fixture
def id_tags(tenant: Tenant, other_tenant: Tenant) -> dict[str, IdTag]:
    past = datetime.now(UTC) - timedelta(days=1)
    future = datetime.now(UTC) + timedelta(days=30)
    tags = {
        "ok": IdTag.objects.create(tenant=tenant, id_tag="TAG-OK", parent_id_tag="FLEET-1"),
        "dated": IdTag.objects.create(tenant=tenant, id_tag="TAG-DATED", expiry_date=future),
        "blocked": IdTag.objects.create(
            tenant=tenant, id_tag="TAG-BLOCKED", status=IdTagStatus.BLOCKED
        ),
        "expired": IdTag.objects.create(tenant=tenant, id_tag="TAG-EXPIRED", expiry_date=past),
        # Another tenant's tag is unknown here.
        "foreign": IdTag.objects.create(tenant=other_tenant, id_tag="TAG-FOREIGN"),
    }
    return tags


async def start(cp: Any, *, connector_id: int = 1, id_tag: str = "TAG-OK", **fields: Any) -> Any:
    fields.setdefault("meter_start", 1000)
    fields.setdefault("timestamp", iso(T0))
    return await cp.ask(call.StartTransaction(connector_id=connector_id, id_tag=id_tag, **fields))


# --- Core: boot, heartbeat, status ----------------------------------------------------------------


async def test_boot_notification_is_accepted_and_stores_what_the_charger_says(
    url: str, charge_point: ChargePoint
) -> None:
    before = datetime.now(UTC)
    async with ocpp_client(url, "CP-1") as cp:
        answer = await cp.ask(
            call.BootNotification(
                charge_point_vendor="VendorX",
                charge_point_model="Model-7",
                charge_point_serial_number="CPS-0001",
                charge_box_serial_number="CBS-0002",
                firmware_version="1.2.3-rc1",
                iccid="8931080019073497795",
                imsi="204080150013379",
                meter_type="ABB B23",
                meter_serial_number="MTR-42",
            )
        )

    assert answer.status == "Accepted"
    # The tenant's 300 s plus at most 10 % per-charger jitter.
    assert 300 <= answer.interval <= 330
    current_time = parse(answer.current_time)
    assert current_time.tzinfo is not None
    assert abs(current_time - before) < timedelta(seconds=10)
    row = await orm(ChargePoint.objects.get, pk=charge_point.pk)
    assert (row.vendor, row.model) == ("VendorX", "Model-7")
    assert (row.serial_number, row.charge_box_serial_number) == ("CPS-0001", "CBS-0002")
    assert row.firmware_version == "1.2.3-rc1"
    assert (row.iccid, row.imsi) == ("8931080019073497795", "204080150013379")
    assert (row.meter_type, row.meter_serial_number) == ("ABB B23", "MTR-42")
    assert row.last_boot_at is not None
    assert row.registration_status == "Accepted"


async def test_boot_notification_uses_the_charge_points_own_interval(
    cp_url: Callable[[str], str], make_charge_point: Callable[..., ChargePoint]
) -> None:
    await orm(make_charge_point, "CP-FAST", heartbeat_interval=60)
    async with ocpp_client(cp_url("CP-FAST"), "CP-FAST") as cp:
        answer = await cp.ask(
            call.BootNotification(charge_point_vendor="V", charge_point_model="M")
        )
    assert answer.status == "Accepted"
    assert 60 <= answer.interval <= 66


async def test_heartbeat_returns_the_current_utc_time(url: str) -> None:
    async with ocpp_client(url, "CP-1") as cp:
        answer = await cp.ask(call.Heartbeat())
    assert abs(parse(answer.current_time) - datetime.now(UTC)) < timedelta(seconds=10)


async def test_status_notification_creates_the_connector_and_keeps_history(
    url: str, charge_point: ChargePoint
) -> None:
    async with ocpp_client(url, "CP-1") as cp:
        await cp.ask(
            call.StatusNotification(
                connector_id=2, error_code="NoError", status="Preparing", timestamp=iso(T0)
            )
        )
        await cp.ask(
            call.StatusNotification(
                connector_id=2,
                error_code="OverCurrentFailure",
                status="Faulted",
                timestamp=iso(T0 + timedelta(minutes=1)),
                info="breaker tripped",
                vendor_id="com.vendorx",
                vendor_error_code="E42",
            )
        )

    connector = await orm(Connector.objects.get, charge_point=charge_point, connector_id=2)
    assert (connector.status, connector.error_code) == ("Faulted", "OverCurrentFailure")
    assert (connector.info, connector.vendor_id, connector.vendor_error_code) == (
        "breaker tripped",
        "com.vendorx",
        "E42",
    )
    assert connector.status_timestamp == T0 + timedelta(minutes=1)
    history = await orm(
        lambda: list(
            ConnectorStatusChange.objects.filter(charge_point=charge_point)
            .order_by("id")
            .values_list("connector_id", "status", "timestamp")
        )
    )
    assert history == [
        (2, "Preparing", T0),
        (2, "Faulted", T0 + timedelta(minutes=1)),
    ]


# --- Authorize ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("id_tag", "expected"),
    [
        ("TAG-OK", {"status": "Accepted", "parent_id_tag": "FLEET-1"}),
        ("TAG-BLOCKED", {"status": "Blocked"}),
        ("TAG-EXPIRED", {"status": "Expired"}),
        ("TAG-UNKNOWN", {"status": "Invalid"}),
        ("TAG-FOREIGN", {"status": "Invalid"}),
    ],
)
async def test_authorize_answers_the_id_tags_status(
    url: str, id_tags: dict[str, IdTag], id_tag: str, expected: dict[str, str]
) -> None:
    async with ocpp_client(url, "CP-1") as cp:
        answer = await cp.ask(call.Authorize(id_tag=id_tag))
    info = {key: value for key, value in answer.id_tag_info.items() if key != "expiry_date"}
    assert info == expected


async def test_authorize_returns_the_expiry_date(url: str, id_tags: dict[str, IdTag]) -> None:
    async with ocpp_client(url, "CP-1") as cp:
        answer = await cp.ask(call.Authorize(id_tag="TAG-DATED"))
    assert answer.id_tag_info["status"] == "Accepted"
    assert parse(answer.id_tag_info["expiry_date"]) == id_tags["dated"].expiry_date


async def test_authorize_never_answers_concurrent_tx(url: str, id_tags: dict[str, IdTag]) -> None:
    async with ocpp_client(url, "CP-1") as cp:
        await start(cp, connector_id=1, id_tag="TAG-OK")
        answer = await cp.ask(call.Authorize(id_tag="TAG-OK"))
    assert answer.id_tag_info["status"] == "Accepted"


# --- StartTransaction -----------------------------------------------------------------------------


async def test_start_transaction_opens_a_transaction(
    url: str, charge_point: ChargePoint, id_tags: dict[str, IdTag]
) -> None:
    async with ocpp_client(url, "CP-1") as cp:
        answer = await start(cp, connector_id=1, id_tag="TAG-OK", meter_start=1234)

    assert answer.id_tag_info == {"status": "Accepted", "parent_id_tag": "FLEET-1"}
    tx = await orm(Transaction.objects.get, pk=answer.transaction_id)
    assert tx.charge_point_id == charge_point.pk
    assert tx.tenant_id == charge_point.tenant_id
    assert (tx.connector_id, tx.id_tag, tx.meter_start) == (1, "TAG-OK", 1234)
    assert tx.started_at == T0
    assert tx.active


@pytest.mark.parametrize(
    ("id_tag", "status"),
    [("TAG-UNKNOWN", "Invalid"), ("TAG-BLOCKED", "Blocked"), ("TAG-EXPIRED", "Expired")],
)
async def test_start_transaction_with_a_refused_tag_still_gets_a_transaction_id(
    url: str, id_tags: dict[str, IdTag], id_tag: str, status: str
) -> None:
    async with ocpp_client(url, "CP-1") as cp:
        answer = await start(cp, id_tag=id_tag)

    assert answer.id_tag_info["status"] == status
    tx = await orm(Transaction.objects.get, pk=answer.transaction_id)
    assert (tx.id_tag, tx.id_tag_status) == (id_tag, status)


async def test_concurrent_tx_for_a_tag_active_on_another_connector(
    url: str, id_tags: dict[str, IdTag]
) -> None:
    async with ocpp_client(url, "CP-1") as cp:
        first = await start(cp, connector_id=1, id_tag="TAG-OK")
        second = await start(
            cp, connector_id=2, id_tag="TAG-OK", timestamp=iso(T0 + timedelta(minutes=1))
        )
        other_tag = await start(
            cp, connector_id=3, id_tag="TAG-DATED", timestamp=iso(T0 + timedelta(minutes=2))
        )

    assert first.id_tag_info["status"] == "Accepted"
    assert second.id_tag_info["status"] == "ConcurrentTx"
    assert second.transaction_id != first.transaction_id
    assert other_tag.id_tag_info["status"] == "Accepted"


async def test_concurrent_tx_counts_the_tags_active_transactions_on_other_charge_points(
    cp_url: Callable[[str], str],
    make_charge_point: Callable[..., ChargePoint],
    id_tags: dict[str, IdTag],
) -> None:
    await orm(make_charge_point, "CP-A")
    await orm(make_charge_point, "CP-B")
    async with ocpp_client(cp_url("CP-A"), "CP-A") as cp_a:
        first = await start(cp_a, connector_id=1, id_tag="TAG-OK")
    async with ocpp_client(cp_url("CP-B"), "CP-B") as cp_b:
        second = await start(cp_b, connector_id=1, id_tag="TAG-OK")
    assert first.id_tag_info["status"] == "Accepted"
    assert second.id_tag_info["status"] == "ConcurrentTx"


async def test_retried_start_transaction_returns_the_same_transaction_id(
    url: str, charge_point: ChargePoint, id_tags: dict[str, IdTag]
) -> None:
    async with ocpp_client(url, "CP-1") as cp:
        first = await start(cp, connector_id=1, id_tag="TAG-OK", meter_start=500)
        # A charger retries with a new message id (the client makes one per call).
        retry = await start(cp, connector_id=1, id_tag="TAG-OK", meter_start=500)

    assert retry.transaction_id == first.transaction_id
    assert retry.id_tag_info == first.id_tag_info
    count = await orm(Transaction.objects.filter(charge_point=charge_point).count)
    assert count == 1


async def test_retried_start_transaction_after_reconnect_returns_the_same_id(
    url: str, charge_point: ChargePoint, id_tags: dict[str, IdTag]
) -> None:
    async with ocpp_client(url, "CP-1") as cp:
        first = await start(cp, connector_id=1, meter_start=700)
    async with ocpp_client(url, "CP-1") as cp:
        retry = await start(cp, connector_id=1, meter_start=700)
    assert retry.transaction_id == first.transaction_id


async def test_new_start_on_a_connector_with_an_unstopped_transaction_closes_the_stale_one(
    url: str, charge_point: ChargePoint, id_tags: dict[str, IdTag]
) -> None:
    later = T0 + timedelta(hours=2)
    async with ocpp_client(url, "CP-1") as cp:
        stale = await start(cp, connector_id=1, id_tag="TAG-OK", meter_start=100)
        fresh = await start(
            cp, connector_id=1, id_tag="TAG-DATED", meter_start=900, timestamp=iso(later)
        )

    assert fresh.transaction_id != stale.transaction_id
    assert fresh.id_tag_info["status"] == "Accepted"
    old = await orm(Transaction.objects.get, pk=stale.transaction_id)
    new = await orm(Transaction.objects.get, pk=fresh.transaction_id)
    assert not old.active
    assert old.stopped_at == later
    assert old.stop_reason == "Other"
    assert any(flag.startswith("closed_as_stale") for flag in old.flags)
    assert new.active
    assert new.flags == []


# --- StopTransaction ------------------------------------------------------------------------------


async def test_stop_transaction_stores_the_energy_and_answers_the_tag(
    url: str, id_tags: dict[str, IdTag]
) -> None:
    stopped = T0 + timedelta(minutes=45)
    async with ocpp_client(url, "CP-1") as cp:
        started = await start(cp, connector_id=1, id_tag="TAG-OK", meter_start=1000)
        answer = await cp.ask(
            call.StopTransaction(
                transaction_id=started.transaction_id,
                meter_stop=5500,
                timestamp=iso(stopped),
                reason="EVDisconnected",
                id_tag="TAG-OK",
                transaction_data=[
                    {
                        "timestamp": iso(stopped),
                        "sampledValue": [{"value": "5500", "context": "Transaction.End"}],
                    }
                ],
            )
        )

    assert answer.id_tag_info == {"status": "Accepted", "parent_id_tag": "FLEET-1"}
    tx = await orm(Transaction.objects.get, pk=started.transaction_id)
    assert (tx.meter_start, tx.meter_stop, tx.energy_wh) == (1000, 5500, 4500)
    assert tx.stopped_at == stopped
    assert (tx.stop_reason, tx.stop_id_tag) == ("EVDisconnected", "TAG-OK")
    assert not tx.active
    values = await orm(lambda: list(MeterValue.objects.filter(transaction=tx)))
    assert [(v.value, v.context, v.timestamp) for v in values] == [
        ("5500", "Transaction.End", stopped)
    ]


async def test_stop_transaction_without_reason_or_tag_defaults_to_local(
    url: str, id_tags: dict[str, IdTag]
) -> None:
    async with ocpp_client(url, "CP-1") as cp:
        started = await start(cp, meter_start=10)
        answer = await cp.ask(
            call.StopTransaction(
                transaction_id=started.transaction_id, meter_stop=20, timestamp=iso(T0)
            )
        )
    assert answer.id_tag_info is None
    tx = await orm(Transaction.objects.get, pk=started.transaction_id)
    assert (tx.stop_reason, tx.energy_wh) == ("Local", 10)


async def test_retried_stop_transaction_stores_nothing_twice(
    url: str, id_tags: dict[str, IdTag]
) -> None:
    async with ocpp_client(url, "CP-1") as cp:
        started = await start(cp, meter_start=0)
        stop = call.StopTransaction(
            transaction_id=started.transaction_id,
            meter_stop=3000,
            timestamp=iso(T0 + timedelta(minutes=30)),
            reason="Local",
            transaction_data=[
                {
                    "timestamp": iso(T0 + timedelta(minutes=15)),
                    "sampledValue": [
                        {"value": "1500"},
                        {"value": "16.0", "measurand": "Current.Import", "unit": "A"},
                    ],
                }
            ],
        )
        first = await cp.ask(stop)
        after_first = await orm(Transaction.objects.get, pk=started.transaction_id)
        retry = await cp.ask(stop)

    assert retry == first
    tx = await orm(Transaction.objects.get, pk=started.transaction_id)
    assert (tx.meter_stop, tx.stopped_at, tx.flags) == (
        after_first.meter_stop,
        after_first.stopped_at,
        after_first.flags,
    )
    assert await orm(MeterValue.objects.filter(transaction=tx).count) == 2


async def test_stop_transaction_for_an_unknown_transaction_is_answered_and_kept(
    url: str, charge_point: ChargePoint, id_tags: dict[str, IdTag]
) -> None:
    stop = call.StopTransaction(
        transaction_id=987654,
        meter_stop=4200,
        timestamp=iso(T0),
        id_tag="TAG-OK",
        transaction_data=[{"timestamp": iso(T0), "sampledValue": [{"value": "4200"}]}],
    )
    async with ocpp_client(url, "CP-1") as cp:
        answer = await cp.ask(stop)  # a CALLERROR would raise here
        retry = await cp.ask(stop)

    assert answer.id_tag_info["status"] == "Accepted"
    assert retry == answer
    kept = await orm(lambda: list(UnmatchedTransactionMessage.objects.all()))
    assert len(kept) == 1
    assert kept[0].charge_point_id == charge_point.pk
    assert (kept[0].action, kept[0].reported_transaction_id) == ("StopTransaction", 987654)
    assert kept[0].payload["meter_stop"] == 4200
    values = await orm(lambda: list(MeterValue.objects.all()))
    assert [(v.value, v.transaction_id, v.reported_transaction_id) for v in values] == [
        ("4200", None, 987654)
    ]


async def test_stop_transaction_of_another_charge_points_transaction_is_not_applied(
    cp_url: Callable[[str], str],
    make_charge_point: Callable[..., ChargePoint],
    id_tags: dict[str, IdTag],
) -> None:
    await orm(make_charge_point, "CP-A")
    await orm(make_charge_point, "CP-B")
    async with ocpp_client(cp_url("CP-A"), "CP-A") as cp_a:
        started = await start(cp_a, meter_start=0)
    async with ocpp_client(cp_url("CP-B"), "CP-B") as cp_b:
        await cp_b.ask(
            call.StopTransaction(
                transaction_id=started.transaction_id, meter_stop=99, timestamp=iso(T0)
            )
        )
    tx = await orm(Transaction.objects.get, pk=started.transaction_id)
    assert tx.active
    assert tx.meter_stop is None
    assert await orm(UnmatchedTransactionMessage.objects.count) == 1


# --- MeterValues ----------------------------------------------------------------------------------


async def test_meter_values_store_every_sampled_value_field_as_sent(
    url: str, charge_point: ChargePoint, id_tags: dict[str, IdTag]
) -> None:
    at = T0 + timedelta(minutes=5)
    async with ocpp_client(url, "CP-1") as cp:
        started = await start(cp, connector_id=1)
        answer = await cp.ask(
            call.MeterValues(
                connector_id=1,
                transaction_id=started.transaction_id,
                meter_value=[
                    {
                        "timestamp": iso(at),
                        "sampledValue": [
                            {
                                "value": "230.4",
                                "context": "Sample.Clock",
                                "format": "Raw",
                                "measurand": "Voltage",
                                "phase": "L1-N",
                                "location": "Inlet",
                                "unit": "V",
                            },
                            {"value": "1500"},
                        ],
                    }
                ],
            )
        )

    assert answer is not None
    rows = await orm(
        lambda: list(
            MeterValue.objects.filter(charge_point=charge_point)
            .order_by("id")
            .values(
                "transaction_id",
                "connector_id",
                "reported_transaction_id",
                "timestamp",
                "value",
                "context",
                "format",
                "measurand",
                "phase",
                "location",
                "unit",
            )
        )
    )
    common = {
        "transaction_id": started.transaction_id,
        "connector_id": 1,
        "reported_transaction_id": started.transaction_id,
        "timestamp": at,
    }
    assert rows == [
        {
            **common,
            "value": "230.4",
            "context": "Sample.Clock",
            "format": "Raw",
            "measurand": "Voltage",
            "phase": "L1-N",
            "location": "Inlet",
            "unit": "V",
        },
        {
            # Left out: NULL, served as null (issue 15 §3); §7.45's defaults apply on reading.
            **common,
            "value": "1500",
            "context": None,
            "format": None,
            "measurand": None,
            "phase": None,
            "location": None,
            "unit": None,
        },
    ]


async def test_meter_values_without_a_transaction_are_stored_for_the_connector(
    url: str, charge_point: ChargePoint
) -> None:
    async with ocpp_client(url, "CP-1") as cp:
        await cp.ask(
            call.MeterValues(
                connector_id=0,
                meter_value=[{"timestamp": iso(T0), "sampledValue": [{"value": "77"}]}],
            )
        )
    row = await orm(MeterValue.objects.get, charge_point=charge_point)
    assert (row.connector_id, row.transaction_id, row.reported_transaction_id) == (0, None, None)
    assert row.value == "77"


async def test_retried_meter_values_store_nothing_twice(
    url: str, charge_point: ChargePoint, id_tags: dict[str, IdTag]
) -> None:
    async with ocpp_client(url, "CP-1") as cp:
        started = await start(cp)
        meter_values = call.MeterValues(
            connector_id=1,
            transaction_id=started.transaction_id,
            meter_value=[
                {"timestamp": iso(T0 + timedelta(minutes=1)), "sampledValue": [{"value": "1"}]},
                {"timestamp": iso(T0 + timedelta(minutes=2)), "sampledValue": [{"value": "2"}]},
            ],
        )
        await cp.ask(meter_values)
        await cp.ask(meter_values)
        # The same reading again later is a new sample, not a retry.
        await cp.ask(
            call.MeterValues(
                connector_id=1,
                transaction_id=started.transaction_id,
                meter_value=[
                    {"timestamp": iso(T0 + timedelta(minutes=3)), "sampledValue": [{"value": "2"}]}
                ],
            )
        )

    values = await orm(
        lambda: list(
            MeterValue.objects.filter(charge_point=charge_point)
            .order_by("timestamp")
            .values_list("value", flat=True)
        )
    )
    assert values == ["1", "2", "2"]


# --- DataTransfer, firmware, diagnostics ----------------------------------------------------------


async def test_data_transfer_for_an_unknown_vendor(url: str, charge_point: ChargePoint) -> None:
    async with ocpp_client(url, "CP-1") as cp:
        answer = await cp.ask(
            call.DataTransfer(vendor_id="com.nobody", message_id="hello", data='{"a": 1}')
        )
    assert answer.status == "UnknownVendorId"
    stored = await orm(DataTransferMessage.objects.get, charge_point=charge_point)
    assert (stored.vendor_id, stored.message_id, stored.data) == (
        "com.nobody",
        "hello",
        '{"a": 1}',
    )
    assert stored.answer_status == "UnknownVendorId"


@pytest.mark.parametrize(
    ("payload", "kind", "status", "request_id"),
    [
        (call.DiagnosticsStatusNotification(status="Uploaded"), "diagnostics", "Uploaded", None),
        (call.FirmwareStatusNotification(status="Installing"), "firmware", "Installing", None),
        (
            call.SignedFirmwareStatusNotification(status="SignatureVerified", request_id=17),
            StatusReportKind.SIGNED_FIRMWARE,
            "SignatureVerified",
            17,
        ),
        (
            call.LogStatusNotification(status="Uploading", request_id=5),
            StatusReportKind.LOG,
            "Uploading",
            5,
        ),
    ],
    ids=["diagnostics", "firmware", "signed_firmware", "log"],
)
async def test_status_notifications_are_answered_and_stored(
    url: str,
    charge_point: ChargePoint,
    payload: Any,
    kind: str,
    status: str,
    request_id: int | None,
) -> None:
    async with ocpp_client(url, "CP-1") as cp:
        answer = await cp.ask(payload)
    assert answer is not None
    report = await orm(StatusReport.objects.get, charge_point=charge_point)
    assert (report.kind, report.status, report.request_id) == (kind, status, request_id)


# --- Security extension ---------------------------------------------------------------------------


async def test_security_event_notification_is_stored_once(
    url: str, charge_point: ChargePoint
) -> None:
    event = call.SecurityEventNotification(
        type="TamperDetectionActivated", timestamp=iso(T0), tech_info="lid opened"
    )
    async with ocpp_client(url, "CP-1") as cp:
        await cp.ask(event)
        await cp.ask(event)  # retried like a transaction message

    stored = await orm(lambda: list(SecurityEvent.objects.all()))
    assert len(stored) == 1
    assert stored[0].charge_point_id == charge_point.pk
    assert stored[0].tenant_id == charge_point.tenant_id
    assert (stored[0].type, stored[0].timestamp, stored[0].tech_info) == (
        "TamperDetectionActivated",
        T0,
        "lid opened",
    )
    assert stored[0].reported_by_charge_point


async def test_an_unreadable_csr_is_rejected_and_kept_with_the_reason(
    url: str, charge_point: ChargePoint
) -> None:
    # Issue 19 §2: a CSR is checked before anything signs it (it used to be Accepted unread).
    csr = "-----BEGIN CERTIFICATE REQUEST-----\nMIIB...\n-----END CERTIFICATE REQUEST-----"
    async with ocpp_client(url, "CP-1") as cp:
        answer = await cp.ask(call.SignCertificate(csr=csr))
    assert answer.status == "Rejected"
    stored = await orm(CertificateSigningRequest.objects.get, charge_point=charge_point)
    assert stored.csr == csr
    assert (stored.status, stored.problems) == (
        "refused",
        "the CSR is not a PEM-encoded PKCS#10 certificate signing request",
    )
