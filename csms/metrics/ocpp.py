"""What the OCPP path counts as it goes: in-memory (or, in multiprocess mode, a memory-mapped
file per process), never a database statement.

The per-frame cost is a dictionary lookup for the labelled child and an add per counter
(``benchmarks/metrics_cost.py`` measures it). Label values are bounded: an action outside the
OCPP 1.6 set (a charger may send any string) is counted as ``unknown``, and so is an outcome
that is neither ``result`` nor one of the OCPP-J error codes (a charger's CALLERROR may name
anything).
"""

import json
from typing import Any

from ocpp.v16.enums import Action
from prometheus_client import Counter, Gauge, Histogram

from csms.ocpp.errors import ErrorCode

UNKNOWN = "unknown"
RESULT = "result"
CALL = "call"
_ACTIONS = frozenset(action.value for action in Action)
_OUTCOMES = frozenset({RESULT, *(code.value for code in ErrorCode)})

CONNECTIONS = Gauge(
    "csms_ocpp_connections",
    "Charge points connected to this process (summed over live processes), by tenant.",
    ["tenant"],
    multiprocess_mode="livesum",
)
HANDSHAKES_REFUSED = Counter(
    "csms_ocpp_handshakes_refused",
    "WebSocket handshakes refused, by the HTTP status they were refused with.",
    ["status"],
)
FRAMES_IN = Counter(
    "csms_ocpp_frames_in",
    "Frames received from charge points, by action and outcome: a CALL by how it was "
    "answered (result, or the CALLERROR code), an answer to our CALL by its kind.",
    ["action", "outcome"],
)
FRAMES_OUT = Counter(
    "csms_ocpp_frames_out",
    "Frames sent to charge points, by action and outcome: our answers (result, or the "
    "CALLERROR code) and our own CALLs (call).",
    ["action", "outcome"],
)
CALL_SECONDS = Histogram(
    "csms_ocpp_call_seconds",
    "From a charge point's CALL received to its answer sent (validation, queueing, the "
    "handler's transaction), by action.",
    ["action"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
HANDLER_SECONDS = Histogram(
    "csms_ocpp_handler_seconds",
    "The app handler of a charge point's CALL with its answer and message-log rows, in its "
    "database thread inside the transaction (no queueing, no commit), by action.",
    ["action"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0),
)
COMMANDS = Counter(
    "csms_commands",
    "Central-System-initiated CALLs finished by this process, by action and outcome "
    "(completed, callerror, timeout, closed).",
    ["action", "outcome"],
)
BATCH_SIZE = Histogram(
    "csms_ocpp_call_batch_size",
    "Inbound CALLs committed together in one group-commit transaction.",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200),
)
BOOT_DEFERRALS = Counter(
    "csms_ocpp_boot_deferrals",
    "BootNotifications answered Pending by admission control (the process was saturated).",
)

# Labelled children, looked up once: ``labels()`` validates and locks on every call.
_children: dict[tuple[Any, ...], Any] = {}


def _child(metric: Any, *labels: str) -> Any:
    key = (metric, *labels)
    child = _children.get(key)
    if child is None:
        child = _children.setdefault(key, metric.labels(*labels))
    return child


def action_label(action: str) -> str:
    return action if action in _ACTIONS else UNKNOWN


def outcome_label(outcome: str) -> str:
    return outcome if outcome in _OUTCOMES else UNKNOWN


def answer_outcome(answer: str) -> str:
    """``result`` for a CALLRESULT frame, else the CALLERROR's code (read only then)."""
    if answer.startswith("[3"):
        return RESULT
    try:
        code = json.loads(answer)[2]
    except (ValueError, IndexError, TypeError):
        return UNKNOWN
    return code if isinstance(code, str) else UNKNOWN


def call_answered(action: str, outcome: str, seconds: float) -> None:
    """A charge point's CALL and our answer to it (``outcome``: result or the error code)."""
    action, outcome = action_label(action), outcome_label(outcome)
    _child(FRAMES_IN, action, outcome).inc()
    _child(FRAMES_OUT, action, outcome).inc()
    _child(CALL_SECONDS, action).observe(seconds)


def handler_ran(action: str, seconds: float) -> None:
    _child(HANDLER_SECONDS, action_label(action)).observe(seconds)


def answer_received(action: str | None, outcome: str) -> None:
    """A CALLRESULT/CALLERROR from a charge point, for our call of ``action`` (None: no call of
    ours was waiting for it)."""
    action = UNKNOWN if action is None else action_label(action)
    _child(FRAMES_IN, action, outcome_label(outcome)).inc()


def call_sent(action: str) -> None:
    _child(FRAMES_OUT, action_label(action), CALL).inc()


def command_finished(action: str, outcome: str) -> None:
    _child(COMMANDS, action_label(action), outcome).inc()


def connection_opened(tenant: str) -> None:
    _child(CONNECTIONS, tenant).inc()


def connection_closed(tenant: str) -> None:
    _child(CONNECTIONS, tenant).dec()


def handshake_refused(status: int) -> None:
    _child(HANDSHAKES_REFUSED, str(status)).inc()


def batch_committed(size: int) -> None:
    BATCH_SIZE.observe(size)


def boot_deferred() -> None:
    BOOT_DEFERRALS.inc()
