"""What the operations work of issue 20 §5 adds to one inbound frame, in this process.

    .venv/bin/python -m benchmarks.metrics_cost

Per frame answered with a CALLRESULT the pipeline now also binds the frame's message id for
the log lines (``log_context.message_bind``), binds the call in its database thread
(``call_bind``), times the handler (``metrics.handler_ran``), counts the batch and, after
the answer, the frame in, the answer out and the latency (``metrics.call_answered``). This
times exactly those calls, in prometheus-client's single-process mode and in its multiprocess
mode (memory-mapped files in a temporary
``PROMETHEUS_MULTIPROC_DIR``, which must be set before the library is imported: each mode runs
in a subprocess of its own), beside the pure steps every frame already costs on the event loop
(parse, validate, frame the answer) for scale. No database: the metrics add no statement.
"""

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

ROUNDS = 20_000
REPEATS = 9
FRAME = json.dumps(
    [
        2,
        "b2c3d4e5f6",
        "StatusNotification",
        {"connectorId": 1, "errorCode": "NoError", "status": "Charging"},
    ]
)


def _best_us(functions: dict[str, Callable[[], object]]) -> dict[str, float]:
    """µs per call of each function: the best of REPEATS rounds, the functions interleaved
    round by round (the machine is shared: a busy moment then hits all of them alike)."""
    best = dict.fromkeys(functions, float("inf"))
    for function in functions.values():
        for _ in range(1000):
            function()
    for _ in range(REPEATS):
        for name, function in functions.items():
            started = time.perf_counter()
            for _ in range(ROUNDS):
                function()
            best[name] = min(best[name], (time.perf_counter() - started) / ROUNDS * 1e6)
    return best


def measure() -> dict[str, float]:
    """In this process: µs per frame of the added work and of the frame's pure steps."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csms.settings")
    import django

    django.setup()
    from csms import log_context
    from csms.metrics import ocpp as metrics
    from csms.ocpp.compat import CompatSwitches
    from csms.ocpp.pipeline import answer_frame, frame_parse, request_validate

    switches = CompatSwitches()
    log_context.connection_bind(tenant="bench", charge_point="CP-BENCH")
    answer = '[3,"b2c3d4e5f6",{}]'

    def log_contexts() -> None:
        with (
            log_context.message_bind("b2c3d4e5f6"),
            log_context.call_bind(tenant="bench", charge_point="CP-BENCH", message_id="b2c3d4e5f6"),
        ):
            pass

    def counting() -> None:
        started = time.perf_counter()
        metrics.handler_ran("StatusNotification", 0.0004)
        metrics.batch_committed(1)
        metrics.call_answered(
            "StatusNotification", metrics.answer_outcome(answer), time.perf_counter() - started
        )

    def pure_steps() -> None:
        call = frame_parse(FRAME)
        request_validate(call.action, dict(call.payload), switches)  # type: ignore[union-attr]
        answer_frame(call.message_id, "StatusNotification", {})

    return _best_us({"log_us": log_contexts, "metrics_us": counting, "pure_us": pure_steps})


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory(prefix="csms-metrics-bench-") as directory:
        for mode, extra in (
            ("single process", {}),
            ("multiprocess (mmap files)", {"PROMETHEUS_MULTIPROC_DIR": directory}),
        ):
            env = dict(os.environ)
            env.pop("PROMETHEUS_MULTIPROC_DIR", None)
            env.update(extra)
            output = subprocess.run(
                [sys.executable, "-c", "from benchmarks.metrics_cost import measure; "
                 "import json; print(json.dumps(measure()))"],
                env=env, capture_output=True, text=True, check=True,
            ).stdout  # fmt: skip
            rows.append((mode, json.loads(output.strip().splitlines()[-1])))
    print(f"{'mode':26} {'log context':>12} {'metrics':>10} {'together':>10} {'pure steps':>11}")
    for mode, figures in rows:
        log, counted, pure = figures["log_us"], figures["metrics_us"], figures["pure_us"]
        print(f"{mode:26} {log:9.2f} µs {counted:7.2f} µs {log + counted:7.2f} µs {pure:8.2f} µs")


if __name__ == "__main__":
    main()
