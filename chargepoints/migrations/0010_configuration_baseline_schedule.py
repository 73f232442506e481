"""Applying configuration baselines as a django-celery-beat schedule, so staff can change it in
the admin."""

from django.db import migrations

NAME = "Apply configuration baselines"


def create_schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    # Every boot applies them too; between boots drift is rare, and a full GetConfiguration
    # (which rewrites the mirror) of a whole fleet every hour would cost more than it finds.
    interval, _ = IntervalSchedule.objects.get_or_create(every=6, period="hours")
    PeriodicTask.objects.get_or_create(
        name=NAME,
        defaults={
            "task": "chargepoints.apply_configuration_baselines",
            "interval": interval,
            "description": "GetConfiguration on every connected charge point with a "
            "configuration baseline, then ChangeConfiguration for the keys that drifted "
            "(once per key and boot).",
        },
    )


def delete_schedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("chargepoints", "0009_configuration_baselines"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, delete_schedule)]
