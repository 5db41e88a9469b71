from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("annotate", "0003_campaign_sample_drawn_and_pool"),
    ]

    operations = [
        migrations.AddField(
            model_name="campaign",
            name="status",
            field=models.CharField(
                choices=[("open", "Open"), ("closed", "Closed"), ("archived", "Archived")],
                default="open",
                max_length=20,
            ),
        ),
        migrations.AddField(
            model_name="campaign",
            name="status_changed_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
