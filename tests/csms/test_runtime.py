"""The daphne processes' garbage-collector tuning (csms.runtime)."""

import gc
import sys
import weakref
from collections.abc import Iterator
from typing import Any

import pytest

from csms.runtime import HeapSettler, SurvivorFreezer, tune_interpreter_lock


@pytest.fixture
def unfrozen_afterwards() -> Iterator[None]:
    assert gc.get_freeze_count() == 0, "the test process must not start frozen"
    try:
        yield
    finally:
        gc.unfreeze()


class Cycle:
    def __init__(self) -> None:
        self.me = self


def test_what_survives_a_full_collection_is_frozen_and_thawed_on_schedule(
    unfrozen_afterwards: None,
) -> None:
    clock = [0.0]
    freezer = SurvivorFreezer(thaw_every=60, clock=lambda: clock[0])

    freezer("stop", {"generation": 0, "collected": 0, "uncollectable": 0})
    freezer("start", {"generation": 2, "collected": 0, "uncollectable": 0})
    assert gc.get_freeze_count() == 0  # only the end of a full collection freezes

    freezer("stop", {"generation": 2, "collected": 0, "uncollectable": 0})
    frozen = gc.get_freeze_count()
    newer = [Cycle() for _ in range(100)]  # created after that freeze: not frozen yet
    clock[0] = 59
    freezer("stop", {"generation": 2, "collected": 0, "uncollectable": 0})
    assert frozen > 0
    assert gc.get_freeze_count() >= frozen + len(newer)

    clock[0] = 61
    freezer("stop", {"generation": 2, "collected": 0, "uncollectable": 0})
    assert gc.get_freeze_count() == 0  # thawed: the next full collection sees everything


def test_cycles_among_frozen_objects_are_reclaimed_after_the_thaw(
    unfrozen_afterwards: None,
) -> None:
    clock = [0.0]
    freezer = SurvivorFreezer(thaw_every=60, clock=lambda: clock[0])
    gc.callbacks.append(freezer)
    try:
        garbage = Cycle()
        alive = weakref.ref(garbage)
        gc.collect()  # full collection: the live cycle survives and is frozen
        assert gc.get_freeze_count() > 0
        del garbage  # now unreachable, but frozen: a full collection does not find it
        gc.collect()
        assert alive() is not None

        clock[0] = 61
        gc.collect()  # thaws at its end
        gc.collect()  # and this one reclaims the cycle
        assert alive() is None
    finally:
        gc.callbacks.remove(freezer)


def test_the_heap_settles_once_a_burst_of_connections_is_over(
    unfrozen_afterwards: None,
) -> None:
    settler = HeapSettler(minimum=500)

    ticks = [settler.tick(n) for n in (100, 300, 600, 900, 900)]
    assert ticks == [False, False, False, False, True]  # growing, then still: settle
    assert gc.get_freeze_count() > 0
    gc.unfreeze()

    # Small changes do not settle again; a quarter more connections does, once they stop.
    ticks = [settler.tick(n) for n in (950, 1000, 1000, 1200, 1200, 1200)]
    assert ticks == [False, False, False, False, True, False]


def test_a_small_process_never_pays_for_settling(unfrozen_afterwards: None) -> None:
    settler = HeapSettler(minimum=500)

    assert not any(settler.tick(n) for n in (10, 200, 499, 499, 499))
    assert gc.get_freeze_count() == 0


def test_the_switch_interval_is_set_only_when_asked(settings: Any) -> None:
    python_default = sys.getswitchinterval()
    try:
        settings.GIL_SWITCH_INTERVAL_MS = ""
        tune_interpreter_lock()
        assert sys.getswitchinterval() == python_default

        settings.GIL_SWITCH_INTERVAL_MS = "1"
        tune_interpreter_lock()
        assert sys.getswitchinterval() == pytest.approx(0.001)
    finally:
        sys.setswitchinterval(python_default)
