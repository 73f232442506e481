"""``make run``'s children kept running: one that dies is restarted, the rest go on.

Daphne, the Celery worker and beat are separate processes so that one dying is not an outage
of the others (issue 16 §2): a killed worker must not cut 200 charge points off. A child that
exits unexpectedly is started again after a backoff (:func:`restart_delay`: a child that
crashes at start-up must not spin), with a log line each time; only SIGINT/SIGTERM stop them
all. The deploy units (systemd ``Restart=``, compose ``restart:``) do the same per service.
"""

import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass

RESTART_DELAY_FIRST_SECONDS = 1.0
RESTART_DELAY_MAX_SECONDS = 30.0
# A child that ran this long before it died is restarted after the first delay again.
STABLE_AFTER_SECONDS = 60.0


def restart_delay(failures: int) -> float:
    """Seconds before the ``failures``-th restart in a row (1, 2, 4 … capped at 30)."""
    if failures <= 0:
        return 0.0
    return min(RESTART_DELAY_FIRST_SECONDS * 2 ** (failures - 1), RESTART_DELAY_MAX_SECONDS)


@dataclass
class Child:
    name: str
    command: list[str]
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    failures: int = 0  # unexpected exits in a row
    restart_at: float | None = None
    restarts: int = 0


class Supervisor:
    """Start the children, restart those that die, stop them all on request."""

    def __init__(
        self,
        commands: dict[str, list[str]],
        *,
        log: Callable[[str], None],
        env: dict[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.children = [Child(name, command) for name, command in commands.items()]
        self.log = log
        self.env = env
        self.clock = clock

    def start(self) -> None:
        for child in self.children:
            self._spawn(child)

    def _spawn(self, child: Child) -> None:
        child.process = subprocess.Popen(child.command, env=self.env)  # noqa: S603 - ours
        child.started_at = self.clock()
        child.restart_at = None

    def tend(self) -> None:
        """One round: note the children that died, restart those whose delay passed."""
        now = self.clock()
        for child in self.children:
            if child.restart_at is not None:
                if now >= child.restart_at:
                    child.restarts += 1
                    self.log(f"{child.name}: restarting (restart {child.restarts})")
                    self._spawn(child)
                continue
            code = child.process.poll() if child.process is not None else None
            if code is None:
                continue
            if now - child.started_at >= STABLE_AFTER_SECONDS:
                child.failures = 0
            child.failures += 1
            delay = restart_delay(child.failures)
            child.restart_at = now + delay
            self.log(f"{child.name} exited with {code}; restarting in {delay:.0f} s")

    def stop(self, *, timeout: float = 15.0) -> None:
        """SIGTERM to every child still running, SIGKILL to those that outlast ``timeout``."""
        running = [c.process for c in self.children if c.process and c.process.poll() is None]
        for process in running:
            process.terminate()
        for process in running:
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
