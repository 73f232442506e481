"""Statements per inbound CALL on the hot path (STYLE §6: one or two queries per frame).

Runs one call's transaction as the group commit does for a call that goes alone
(``call_commit`` with the pipeline's ``handler_run``) for one charge point, in this process, and
counts what reaches the database; BEGIN/COMMIT/SAVEPOINT are transaction control and not counted.
"""

import json
import uuid
from typing import Any

from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from chargepoints import ocpp_backend as backend
from csms.ocpp.context import CallContext, ChargePointSession
from csms.ocpp.execution.group_commit import InboundCall, call_commit
from csms.ocpp.frames import Call
from csms.ocpp.pipeline import call_admit, handler_run, request_validate
from transactions.models import Transaction

CONTROL = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE", "ROLLBACK")


def _now() -> str:
    return timezone.now().isoformat()


def call_statements(session: ChargePointSession, action: str, payload: dict[str, Any]) -> int:
    """Statements one CALL (camelCase ``payload``, as on the wire) costs, handled alone as the
    group commit handles it; BEGIN/COMMIT/SAVEPOINT not counted. Also what
    tests/csms/test_hot_path_statements.py pins."""
    call = Call(uuid.uuid4().hex[:20], action, payload)
    route = call_admit(call, session)
    snake, quirks = request_validate(action, dict(payload), session.switches)
    ctx = CallContext(session, call.message_id, action, timezone.now(), quirks)
    inbound = InboundCall(route, ctx, snake, json.dumps([2, call.message_id, action, payload]))
    with CaptureQueriesContext(connection) as captured:
        answer = call_commit(inbound, backend=backend.ChargePointBackend(), run=handler_run)
    assert answer.startswith("[3"), answer
    return sum(not q["sql"].startswith(CONTROL) for q in captured.captured_queries)


def queries_per_frame(*, tenant_slug: str, identity: str, id_tag: str) -> list[tuple[str, int]]:
    """(action, statements) for a steady-state frame of each kind, in session order."""
    session, _ = backend.open_session(
        tenant_slug=tenant_slug,
        identity=identity,
        authorization=None,
        channel_name="bench!hot-path",
        client="",
    )

    def run(action: str, payload: dict[str, Any]) -> int:
        return call_statements(session, action, payload)

    def status(state: str) -> dict[str, Any]:
        return {"connectorId": 1, "errorCode": "NoError", "status": state, "timestamp": _now()}

    try:
        boot = {"chargePointVendor": "Bench", "chargePointModel": "B1"}
        rows = [("BootNotification", run("BootNotification", boot))]
        run("StatusNotification", status("Available"))  # the first one creates the connector
        rows.append(("StatusNotification", run("StatusNotification", status("Preparing"))))
        rows.append(("Heartbeat", run("Heartbeat", {})))
        rows.append(("Authorize", run("Authorize", {"idTag": id_tag})))
        start = {"connectorId": 1, "idTag": id_tag, "meterStart": 0, "timestamp": _now()}
        rows.append(("StartTransaction", run("StartTransaction", start)))
        tx = Transaction.objects.filter(charge_point_id=session.charge_point_id).latest("pk")
        sampled = [
            {"value": "10", "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
            {"value": "7200", "measurand": "Power.Active.Import", "unit": "W"},
        ]
        values = {
            "connectorId": 1,
            "transactionId": tx.pk,
            "meterValue": [{"timestamp": _now(), "sampledValue": sampled}],
        }
        rows.append(("MeterValues", run("MeterValues", values)))
        stop = {"transactionId": tx.pk, "meterStop": 10, "timestamp": _now()}
        rows.append(("StopTransaction", run("StopTransaction", stop)))
        return rows
    finally:
        backend.close_session(session=session, channel_name="bench!hot-path")
        connections.close_all()
