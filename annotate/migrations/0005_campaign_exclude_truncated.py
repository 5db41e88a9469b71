from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("annotate", "0004_campaign_status"),
    ]

    operations = [
        migrations.AddField(
            model_name="campaign",
            name="exclude_truncated",
            field=models.BooleanField(default=False),
        ),
    ]
