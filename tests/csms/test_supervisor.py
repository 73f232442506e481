"""make run's supervisor (csms.supervisor): a child that dies is restarted after a backoff, the
others go on; a stop stops them all."""

import sys
import time

from hypothesis import given
from hypothesis import strategies as st

from csms.supervisor import (
    RESTART_DELAY_MAX_SECONDS,
    STABLE_AFTER_SECONDS,
    Supervisor,
    restart_delay,
)


@given(st.integers(min_value=1, max_value=100))
def test_the_restart_delay_grows_and_is_capped(failures: int) -> None:
    assert 0 < restart_delay(failures) <= RESTART_DELAY_MAX_SECONDS
    assert restart_delay(failures + 1) >= restart_delay(failures)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _exited(supervisor: Supervisor, name: str) -> None:
    process = next(c.process for c in supervisor.children if c.name == name)
    assert process is not None
    process.wait(timeout=10)


def test_a_child_that_dies_is_restarted_and_the_others_keep_running() -> None:
    lines: list[str] = []
    clock = Clock()
    supervisor = Supervisor(
        {
            "worker": [sys.executable, "-c", "import sys; sys.exit(3)"],
            "daphne": [sys.executable, "-c", "import time; time.sleep(30)"],
        },
        log=lines.append,
        clock=clock,
    )
    supervisor.start()
    try:
        daphne = supervisor.children[1].process
        _exited(supervisor, "worker")
        supervisor.tend()
        assert lines == ["worker exited with 3; restarting in 1 s"]
        clock.now += 1
        supervisor.tend()
        assert lines[-1] == "worker: restarting (restart 1)"
        _exited(supervisor, "worker")
        supervisor.tend()
        assert lines[-1] == "worker exited with 3; restarting in 2 s"  # dying again: backing off
        clock.now += STABLE_AFTER_SECONDS + 5
        supervisor.tend()
        assert supervisor.children[1].process is daphne
        assert daphne is not None and daphne.poll() is None
    finally:
        started = time.monotonic()
        supervisor.stop(timeout=5)
    assert all(c.process is not None and c.process.poll() is not None for c in supervisor.children)
    assert time.monotonic() - started < 5
