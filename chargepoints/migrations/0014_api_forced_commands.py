from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('chargepoints', '0013_field_id_tag_revocations'),
    ]

    operations = [
        migrations.AddField(
            model_name='command',
            name='forced',
            field=models.BooleanField(default=False),
        ),
    ]
