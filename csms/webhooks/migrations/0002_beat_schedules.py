"""The webhooks app's beat tasks as django-celery-beat schedules (editable in the admin)."""

from django.db import migrations

RESCAN = "Re-scan the webhook outbox"
PURGE = "Purge old webhook events"


def create_schedules(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_minute, _ = IntervalSchedule.objects.get_or_create(every=1, period="minutes")
    PeriodicTask.objects.get_or_create(
        name=RESCAN,
        defaults={
            "task": "webhooks.rescan_outbox",
            "interval": every_minute,
            "description": "Queues webhook deliveries that are due but not in flight: retries "
            "left to the scan, and tasks lost between commit and delivery.",
        },
    )
    nightly, _ = CrontabSchedule.objects.get_or_create(
        minute="40", hour="3", day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC"
    )
    PeriodicTask.objects.get_or_create(
        name=PURGE,
        defaults={
            "task": "webhooks.purge_events",
            "crontab": nightly,
            "description": "Deletes webhook events (and their delivery logs) older than "
            "WEBHOOKS_EVENT_RETENTION_DAYS.",
        },
    )


def delete_schedules(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[RESCAN, PURGE]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedules, delete_schedules)]
