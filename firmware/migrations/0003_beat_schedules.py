"""The firmware app's beat ticks as django-celery-beat schedules, so staff can change them in
the admin."""

from django.db import migrations

SCHEDULES = [
    (
        "Advance firmware updates",
        "firmware.advance_firmware_updates",
        "Firmware campaigns: sends UpdateFirmware to due jobs, advances batches, asks quiet "
        "charge points (TriggerMessage), ends silent jobs timed_out.",
    ),
    (
        "Advance diagnostics requests",
        "firmware.advance_diagnostics_requests",
        "Diagnostics requests: retries, TriggerMessage to quiet charge points, time-outs.",
    ),
]


def create_schedules(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_minute, _ = IntervalSchedule.objects.get_or_create(every=1, period="minutes")
    for name, task, description in SCHEDULES:
        PeriodicTask.objects.get_or_create(
            name=name,
            defaults={"task": task, "interval": every_minute, "description": description},
        )


def delete_schedules(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[name for name, _, _ in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("firmware", "0002_campaigns_and_diagnostics"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedules, delete_schedules)]
