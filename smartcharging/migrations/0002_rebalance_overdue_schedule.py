"""Sweep site rebalances whose task was lost, every minute (editable in the admin)."""

from django.db import migrations

TASK_NAME = "Rebalance charging sites with overdue requests"


def create_schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_minute, _ = IntervalSchedule.objects.get_or_create(every=1, period="minutes")
    PeriodicTask.objects.get_or_create(
        name=TASK_NAME,
        defaults={
            "task": "smartcharging.rebalance_overdue_sites",
            "interval": every_minute,
            "description": "A site whose rebalance request is 30 s old and not done is "
            "rebalanced now (its task was lost: broker down, worker restarted).",
        },
    )


def delete_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("smartcharging", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, delete_schedule)]
