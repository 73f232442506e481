"""Sessions a CPO can bill (issue 15 §2-§3): the energy and its source, who stopped a session,
sampled values stored as sent (NULL when left out) and marked when they came after the stop,
the tenants' closing rules and their beat schedule."""

import django.core.validators
import django.db.models.deletion
from django.db import migrations, models
from django.db.models import F, Q

CLOSE_TASK_NAME = "Close sessions the tenants' closing rules say are over"
STALE_FLAG = "closed_as_stale: a new StartTransaction arrived on its connector"


def backfill(apps, schema_editor):
    Transaction = apps.get_model("transactions", "Transaction")
    MeterValue = apps.get_model("transactions", "MeterValue")
    # "" was stored for a phase left out; it is no phase (OCPP 1.6 §7.45).
    MeterValue.objects.filter(phase="").update(phase=None)
    stopped = Transaction.objects.filter(stopped_at__isnull=False)
    consistent = Q(meter_stop__isnull=False, meter_start__gte=0, meter_stop__gte=F("meter_start"))
    stopped.filter(consistent).update(
        energy_wh=F("meter_stop") - F("meter_start"), energy_source="meter_stop"
    )
    stopped.exclude(consistent).update(energy_source="none")
    stopped.filter(meter_stop__isnull=False).update(stopped_by="charge_point")
    # Closed as stale by a new start, before the charger's own stop came (if it ever did).
    stopped.filter(meter_stop__isnull=True).update(
        stopped_by="server", closed_by="stale:new_start_on_connector"
    )


def create_schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_five_minutes, _ = IntervalSchedule.objects.get_or_create(every=5, period="minutes")
    PeriodicTask.objects.get_or_create(
        name=CLOSE_TASK_NAME,
        defaults={
            "task": "transactions.close_zombie_sessions",
            "interval": every_five_minutes,
            "description": "Closes open sessions by each tenant's closing rules (connector "
            "Available for N minutes; no MeterValues and no connection for M hours). Rules are "
            "off until a tenant sets them.",
        },
    )


def delete_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(
        name=CLOSE_TASK_NAME
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("tenancy", "0002_tenant_compat_defaults"),
        ("transactions", "0002_active_id_tag_index"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.AddField(
            model_name="transaction",
            name="energy_wh",
            field=models.BigIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="transaction",
            name="energy_source",
            field=models.CharField(
                blank=True,
                choices=[
                    ("meter_stop", "meterStop - meterStart"),
                    ("register", "Energy.Active.Import.Register readings"),
                    ("none", "No usable evidence"),
                ],
                max_length=16,
            ),
        ),
        migrations.AddField(
            model_name="transaction",
            name="stopped_by",
            field=models.CharField(
                blank=True,
                choices=[
                    ("charge_point", "The charge point (StopTransaction)"),
                    ("server", "The server (closed without the charger's stop)"),
                ],
                max_length=16,
            ),
        ),
        migrations.AddField(
            model_name="transaction",
            name="closed_by",
            field=models.CharField(blank=True, max_length=150),
        ),
        migrations.AddField(
            model_name="transaction",
            name="close_reason",
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.AlterField(
            model_name="metervalue",
            name="context",
            field=models.CharField(blank=True, max_length=30, null=True),
        ),
        migrations.AlterField(
            model_name="metervalue",
            name="format",
            field=models.CharField(blank=True, max_length=20, null=True),
        ),
        migrations.AlterField(
            model_name="metervalue",
            name="measurand",
            field=models.CharField(blank=True, max_length=50, null=True),
        ),
        migrations.AlterField(
            model_name="metervalue",
            name="phase",
            field=models.CharField(blank=True, max_length=10, null=True),
        ),
        migrations.AlterField(
            model_name="metervalue",
            name="location",
            field=models.CharField(blank=True, max_length=10, null=True),
        ),
        migrations.AlterField(
            model_name="metervalue",
            name="unit",
            field=models.CharField(blank=True, max_length=20, null=True),
        ),
        migrations.AddField(
            model_name="metervalue",
            name="after_stop",
            field=models.BooleanField(default=False),
        ),
        migrations.CreateModel(
            name="SessionClosingRules",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "available_minutes",
                    models.PositiveIntegerField(
                        blank=True,
                        help_text="Close a session when its connector has reported Available "
                        "(not Finishing or SuspendedEV) for longer than this many minutes. "
                        "Empty: off.",
                        null=True,
                        validators=[
                            django.core.validators.MinValueValidator(1),
                            django.core.validators.MaxValueValidator(43200),
                        ],
                    ),
                ),
                (
                    "silent_hours",
                    models.PositiveIntegerField(
                        blank=True,
                        help_text="Close a session when its charge point has sent no "
                        "MeterValues for it and has not been connected for longer than this "
                        "many hours. Empty: off.",
                        null=True,
                        validators=[
                            django.core.validators.MinValueValidator(1),
                            django.core.validators.MaxValueValidator(2160),
                        ],
                    ),
                ),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "tenant",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="session_closing_rules",
                        to="tenancy.tenant",
                    ),
                ),
            ],
            options={"verbose_name_plural": "session closing rules"},
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.RunPython(create_schedule, delete_schedule),
    ]
