"""What the owning apps register about commands of the actions they follow: result hooks, failure
hooks and payload checks, by action. Registered on import of the apps' modules (``apps.ready``).
"""

from collections.abc import Callable
from typing import Any

from chargepoints.models import Command

# Result hooks: the owning app records what an answer means (configuration mirror, password…).
ResultHook = Callable[[Command], None]
_result_hooks: dict[str, list[ResultHook]] = {}


def command_result_hook(action: str) -> Callable[[ResultHook], ResultHook]:
    """Register ``hook`` to run, inside the completing transaction, when ``action`` completes."""

    def register(hook: ResultHook) -> ResultHook:
        _result_hooks.setdefault(action, []).append(hook)
        return hook

    return register


def result_hooks_for(action: str) -> list[ResultHook]:
    return _result_hooks.get(action, [])


# Failure hooks: the owning app learns at once that a command will bring no answer to act on
# (a CALLERROR, a malformed answer, a time-out, a closed socket, an expiry or a withdrawal),
# instead of finding out when it next polls.
FailureHook = Callable[[Command], None]
_failure_hooks: dict[str, list[FailureHook]] = {}


def command_failure_hook(action: str) -> Callable[[FailureHook], FailureHook]:
    """Register ``hook`` to run, inside the transaction that ended it, when a command of
    ``action`` ends ``failed``, ``timeout`` or ``expired``. A hook that raises is logged; the
    status change stays."""

    def register(hook: FailureHook) -> FailureHook:
        _failure_hooks.setdefault(action, []).append(hook)
        return hook

    return register


def failure_hooks_for(action: str) -> list[FailureHook]:
    return _failure_hooks.get(action, [])


def failure_hook_actions() -> list[str]:
    return [action for action, hooks in _failure_hooks.items() if hooks]


# Checks beyond the schema, per action (e.g. an AuthorizationKey must be a valid password).
PayloadCheck = Callable[[dict[str, Any]], str | None]
_payload_checks: dict[str, list[PayloadCheck]] = {}


def command_payload_check(action: str) -> Callable[[PayloadCheck], PayloadCheck]:
    """Register ``check``: it returns why a valid-by-schema payload is still refused, or None."""

    def register(check: PayloadCheck) -> PayloadCheck:
        _payload_checks.setdefault(action, []).append(check)
        return check

    return register


def payload_checks_for(action: str) -> list[PayloadCheck]:
    return _payload_checks.get(action, [])
