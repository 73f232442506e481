"""Scheduled jobs really run: a Celery worker with embedded beat, on this run's broker."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from chargepoints.models import ChargePoint, MessageDirection, OcppMessage
from csms.tenancy.models import Tenant
from tests.servers import ROOT, celery_worker_running


@pytest.mark.django_db
def test_message_log_purge_is_scheduled_by_a_data_migration() -> None:
    task = PeriodicTask.objects.get(task="chargepoints.purge_message_log")

    assert task.enabled
    assert task.crontab is not None


@pytest.mark.django_db(transaction=True)
def test_beat_schedule_runs_on_a_real_worker(tenant: Tenant) -> None:
    charge_point = ChargePoint.objects.create(tenant=tenant, identity="CP-1")
    old = timezone.now() - timedelta(days=400)
    OcppMessage.objects.bulk_create(
        OcppMessage(
            charge_point=charge_point,
            direction=MessageDirection.IN,
            frame='[2,"1","Heartbeat",{}]',
            created_at=old,
        )
        for _ in range(3)
    )
    fresh = OcppMessage.objects.create(
        charge_point=charge_point,
        direction=MessageDirection.IN,
        frame="[]",
        created_at=timezone.now(),
    )
    # Staff would edit this in the admin; here: every second instead of nightly.
    every_second, _ = IntervalSchedule.objects.get_or_create(
        every=1, period=IntervalSchedule.SECONDS
    )
    # (Transactional tests start from flushed tables: the migration's row is gone here.)
    PeriodicTask.objects.update_or_create(
        name="purge (test)",
        defaults={"task": "chargepoints.purge_message_log", "interval": every_second},
    )

    schedule = str(ROOT / "var" / "celerybeat-test-schedule")
    with celery_worker_running("-B", "-s", schedule) as worker:
        deadline = time.monotonic() + 45
        while time.monotonic() < deadline and worker.poll() is None:
            if not OcppMessage.objects.filter(created_at__lt=timezone.now() - timedelta(days=1)):
                break
            time.sleep(0.3)
        remaining = list(OcppMessage.objects.values_list("pk", flat=True))
        worker.stop(timeout=30)
        output = worker.log_since(0)

    assert remaining == [fresh.pk], output[-3000:]
