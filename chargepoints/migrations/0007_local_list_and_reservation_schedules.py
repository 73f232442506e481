"""Local-list synchronisation and the reservation expiry sweep as django-celery-beat schedules,
so staff can change them in the admin."""

from django.db import migrations

SCHEDULES = {
    "Synchronise local authorization lists": {
        "task": "chargepoints.sync_local_lists",
        "every": (1, "hours"),
        "description": "GetLocalListVersion, then a Differential or Full SendLocalList, on every "
        "connected charge point that supports local lists.",
    },
    "Expire reservations": {
        "task": "chargepoints.expire_reservations",
        "every": (1, "minutes"),
        "description": "Reservations past their expiry date end 'expired'.",
    },
}


def create_schedules(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, spec in SCHEDULES.items():
        every, period = spec["every"]
        interval, _ = IntervalSchedule.objects.get_or_create(every=every, period=period)
        PeriodicTask.objects.get_or_create(
            name=name,
            defaults={
                "task": spec["task"],
                "interval": interval,
                "description": spec["description"],
            },
        )


def delete_schedules(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=SCHEDULES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("chargepoints", "0006_authorization_local_list_reservations"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedules, delete_schedules)]
