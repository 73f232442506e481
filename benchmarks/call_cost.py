"""What one inbound CALL costs in its database thread: CPU, wall time and round trips, by action.

    DATABASE_URL=postgres://… .venv/bin/python -m benchmarks.call_cost [--sessions 200]

Runs whole charging sessions of one charge point, each on a connection of its own (the last
one's close and a handshake, then Boot, Status, Heartbeat, Authorize, Start, MeterValues with
four sampled values, Stop) through the group commit's own transaction and the
real backend, as ``benchmarks.hot_path`` counts them, on the database ``DATABASE_URL`` names
(migrated here first; a tenant, charge point and idTag of its own are created). Prints, per
action, the median CPU time of the thread (our Python and the database adapter's), the median
wall time (that plus waiting on the database) and the statements sent, BEGIN/COMMIT included.
The daphne process of the realistic mix spends most of its CPU here (py-spy, issue 17): this is
the figure to move before the side-by-side rig (../shared/perf) says whether it mattered.
"""

import argparse
import json
import os
import statistics
import time
import uuid
from collections import defaultdict
from functools import partial
from typing import Any


def _sessions(count: int) -> dict[str, dict[str, list[float]]]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from chargepoints import ocpp_backend as backend
    from chargepoints.models import ChargePoint, IdTag
    from csms.ocpp.context import CallContext
    from csms.ocpp.execution.group_commit import InboundCall, call_commit
    from csms.ocpp.frames import Call
    from csms.ocpp.pipeline import call_admit, handler_run, request_validate
    from csms.tenancy.models import Tenant
    from transactions.models import Transaction

    suffix = uuid.uuid4().hex[:8]
    tenant = Tenant.objects.create(slug=f"cost-{suffix}", name="Call cost")
    ChargePoint.objects.create(tenant=tenant, identity="COST-1")
    IdTag.objects.create(tenant=tenant, id_tag="COST-TAG")

    def handshake() -> Any:
        session, _ = backend.open_session(
            tenant_slug=tenant.slug,
            identity="COST-1",
            authorization=None,
            channel_name="bench!call-cost",
            client="127.0.0.1:50000",
        )
        return session

    session = handshake()
    ocpp_backend = backend.ChargePointBackend()
    figures: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))

    counting = False  # the debug cursor that counts statements costs CPU of its own

    def run(action: str, payload: dict[str, Any]) -> str:
        call = Call(uuid.uuid4().hex[:20], action, payload)
        route = call_admit(call, session)
        snake, quirks = request_validate(action, dict(payload), session.switches)
        ctx = CallContext(session, call.message_id, action, timezone.now(), quirks)
        inbound = InboundCall(route, ctx, snake, json.dumps([2, call.message_id, action, payload]))
        if counting:
            with CaptureQueriesContext(connection) as captured:
                answer = call_commit(inbound, backend=ocpp_backend, run=handler_run)
            figures[action]["statements"].append(len(captured.captured_queries))
        else:
            cpu, wall = time.thread_time(), time.perf_counter()
            answer = call_commit(inbound, backend=ocpp_backend, run=handler_run)
            cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
            figures[action]["cpu"].append(cpu * 1e6)
            figures[action]["wall"].append(wall * 1e6)
        assert answer.startswith("[3"), answer
        return answer

    def measured(name: str, work: Any) -> Any:
        """A step of the connection's own (its handshake, its close), as ``run`` measures."""
        if counting:
            with CaptureQueriesContext(connection) as captured:
                result = work()
            figures[name]["statements"].append(len(captured.captured_queries))
            return result
        cpu, wall = time.thread_time(), time.perf_counter()
        result = work()
        figures[name]["cpu"].append((time.thread_time() - cpu) * 1e6)
        figures[name]["wall"].append((time.perf_counter() - wall) * 1e6)
        return result

    def now() -> str:
        return timezone.now().isoformat()

    def status(state: str) -> dict[str, Any]:
        return {"connectorId": 1, "errorCode": "NoError", "status": state, "timestamp": now()}

    sampled = [
        {"value": "1000", "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
        {"value": "7200", "measurand": "Power.Active.Import", "unit": "W"},
        {"value": "31.2", "measurand": "Current.Import", "unit": "A", "phase": "L1"},
        {"value": "230.1", "measurand": "Voltage", "unit": "V", "phase": "L1-N"},
    ]
    try:
        for number in range(count):
            counting = number == 1  # the second session: connector and caches exist
            # Each session on a connection of its own: the last one's close, then a handshake.
            close = partial(backend.close_session, session=session, channel_name="bench!call-cost")
            measured("(close)", close)
            session = measured("(handshake)", handshake)
            run("BootNotification", {"chargePointVendor": "Cost", "chargePointModel": "C1"})
            run("StatusNotification", status("Available"))
            run("Heartbeat", {})
            run("Authorize", {"idTag": "COST-TAG"})
            start = {"connectorId": 1, "idTag": "COST-TAG", "meterStart": 0, "timestamp": now()}
            run("StartTransaction", start)
            run("StatusNotification", status("Charging"))
            tx = Transaction.objects.filter(charge_point__tenant=tenant).latest("pk")
            for step in range(4):
                register = {**sampled[0], "value": str(number * 10 + step)}
                values = {
                    "connectorId": 1,
                    "transactionId": tx.pk,
                    "meterValue": [{"timestamp": now(), "sampledValue": [register, *sampled[1:]]}],
                }
                run("MeterValues", values)
            stop = {
                "transactionId": tx.pk,
                "meterStop": 40,
                "timestamp": now(),
                "idTag": "COST-TAG",
            }
            run("StopTransaction", stop)
    finally:
        backend.close_session(session=session, channel_name="bench!call-cost")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=200)
    options = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csms.settings")
    os.environ.setdefault("DEBUG", "")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    figures = _sessions(options.sessions)
    print(f"{connection.vendor}, {options.sessions} sessions; medians per call")
    print(f"{'action':<20} {'CPU µs':>8} {'wall µs':>8} {'statements':>10}")
    for action, values in figures.items():
        print(
            f"{action:<20} {statistics.median(values['cpu']):>8.0f} "
            f"{statistics.median(values['wall']):>8.0f} "
            f"{statistics.median(values['statements']):>10.0f}"
        )


if __name__ == "__main__":
    main()
