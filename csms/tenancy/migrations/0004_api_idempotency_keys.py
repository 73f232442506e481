import django.db.models.deletion
from django.db import migrations, models

PURGE_TASK_NAME = "Purge expired API idempotency keys"


def create_purge_schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    hourly, _ = IntervalSchedule.objects.get_or_create(every=1, period="hours")
    PeriodicTask.objects.get_or_create(
        name=PURGE_TASK_NAME,
        defaults={
            "task": "tenancy.purge_idempotency_keys",
            "interval": hourly,
            "description": "Deletes Idempotency-Key answers past API_IDEMPOTENCY_KEY_TTL_SECONDS.",
        },
    )


def delete_purge_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(
        name=PURGE_TASK_NAME
    ).delete()


class Migration(migrations.Migration):

    dependencies = [
        ('tenancy', '0003_field_tenant_settings'),
        ('django_celery_beat', '0019_alter_periodictasks_options'),
    ]

    operations = [
        migrations.CreateModel(
            name='IdempotencyKey',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('key', models.CharField(max_length=255)),
                ('fingerprint', models.CharField(max_length=64)),
                ('status_code', models.PositiveSmallIntegerField(blank=True, null=True)),
                ('response_body', models.BinaryField(blank=True, default=b'')),
                ('content_type', models.CharField(blank=True, max_length=100)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('expires_at', models.DateTimeField(db_index=True)),
                ('token', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='tenancy.apitoken')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('token', 'key'), name='idempotency_key_per_token')],
            },
        ),
        migrations.RunPython(create_purge_schedule, delete_purge_schedule),
    ]
