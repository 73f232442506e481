from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("chargepoints", "0011_idtag_local_list_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="command",
            name="job_key",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
        migrations.AddConstraint(
            model_name="command",
            constraint=models.UniqueConstraint(
                condition=models.Q(("job_key", ""), _negated=True),
                fields=("job_key",),
                name="command_job_key_unique",
            ),
        ),
    ]
