"""A job run twice (redelivered after its worker died: acks late) queues its command once
(issue 16 §3, ``Command.job_key``)."""

import pytest

from chargepoints.models import ChargePoint, Command
from chargepoints.tasks import send_command

pytestmark = pytest.mark.django_db


def test_the_same_job_run_twice_queues_one_command(cp: ChargePoint) -> None:
    args = [cp.pk, "ClearCache", {}, "nightly"]

    first = send_command.apply(args=args, task_id="run-1").get()
    again = send_command.apply(args=args, task_id="run-1").get()

    assert first == again
    assert Command.objects.filter(charge_point=cp).count() == 1


def test_two_runs_of_a_job_queue_two_commands(cp: ChargePoint, other_cp: ChargePoint) -> None:
    send_command.apply(args=[cp.pk, "ClearCache", {}, "nightly"], task_id="run-1")
    send_command.apply(args=[cp.pk, "ClearCache", {}, "nightly"], task_id="run-2")
    send_command.apply(args=[other_cp.pk, "ClearCache", {}, "nightly"], task_id="run-3")

    assert Command.objects.filter(charge_point=cp).count() == 2
    assert set(Command.objects.values_list("job_key", flat=True)) == {"run-1", "run-2", "run-3"}
