"""jsonschema vs fastjsonschema on the OCPP 1.6 schemas: which one for the hot path.

.venv/bin/python benchmarks/schema_validation.py
"""

import json
import time
from importlib import resources

import fastjsonschema
from jsonschema import Draft4Validator

PAYLOADS = {
    "Heartbeat": {},
    "StatusNotification": {
        "connectorId": 1,
        "errorCode": "NoError",
        "status": "Charging",
        "timestamp": "2026-11-24T10:00:00Z",
    },
    "MeterValues": {
        "connectorId": 1,
        "transactionId": 42,
        "meterValue": [
            {
                "timestamp": "2026-11-24T10:00:00Z",
                "sampledValue": [
                    {"value": "1234.5", "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
                    {"value": "7200", "measurand": "Power.Active.Import", "unit": "W"},
                    {"value": "16.1", "measurand": "Current.Import", "phase": "L1", "unit": "A"},
                    {"value": "16.0", "measurand": "Current.Import", "phase": "L2", "unit": "A"},
                    {"value": "15.9", "measurand": "Current.Import", "phase": "L3", "unit": "A"},
                    {"value": "230.1", "measurand": "Voltage", "phase": "L1-N", "unit": "V"},
                    {"value": "55", "measurand": "SoC", "unit": "Percent", "location": "EV"},
                ],
            }
        ],
    },
}
ROUNDS = 20_000


def load(name: str) -> dict:
    path = resources.files("ocpp.v16").joinpath("schemas", f"{name}.json")
    return json.loads(path.read_text(encoding="utf-8"))


def per_call_us(validate, payload: dict) -> float:
    for _ in range(200):
        validate(payload)
    started = time.perf_counter()
    for _ in range(ROUNDS):
        validate(payload)
    return (time.perf_counter() - started) / ROUNDS * 1e6


def main() -> None:
    print(f"{'action':<20}{'jsonschema µs':>16}{'fastjsonschema µs':>20}{'speed-up':>10}")
    for action, payload in PAYLOADS.items():
        schema = load(action)
        slow = per_call_us(Draft4Validator(schema).validate, payload)
        fast = per_call_us(fastjsonschema.compile(schema), payload)
        print(f"{action:<20}{slow:>16.1f}{fast:>20.1f}{slow / fast:>9.1f}x")


if __name__ == "__main__":
    main()
