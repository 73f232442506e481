"""Several daphne processes behind one ``/metrics``: prometheus-client's multiprocess mode.

With ``PROMETHEUS_MULTIPROC_DIR`` in the environment *before* a process imports
prometheus-client, every process writes its values to memory-mapped files of its own in that
directory, and whichever process answers a scrape sums them all (gauges by their
``multiprocess_mode``: connections are summed over the live processes only). So Prometheus may
scrape any one of the processes behind nginx and gets the platform's numbers.

The directory must start empty, or a restart would add the old processes' counters to the new
ones: ``manage.py serve`` (``make run``) prepares it (:func:`directory_prepare`) before it
starts daphne and the Celery processes; a process leaving marks its live gauges dead
(:func:`exit_register`).
"""

import atexit
import os
import shutil
from pathlib import Path

from prometheus_client import multiprocess

ENVIRONMENT_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def directory() -> str | None:
    """The multiprocess directory of this process (None: single-process mode)."""
    return os.environ.get(ENVIRONMENT_VARIABLE) or None


def directory_prepare(path: Path) -> Path:
    """An empty ``path`` for a new set of processes (the files of a previous run removed)."""
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def exit_register() -> None:
    """In multiprocess mode, this process's live gauges (its connections) leave the sum when it
    exits (a process killed outright is only forgotten at the next ``directory_prepare``)."""
    path = directory()
    if path is not None:
        pid = os.getpid()
        atexit.register(multiprocess.mark_process_dead, pid, path)
