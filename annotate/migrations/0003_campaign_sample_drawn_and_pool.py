from django.apps.registry import Apps
from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor


def drawn_not_asked(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    # sample_size used to keep what was asked, even beyond the pool; it now keeps what was
    # drawn. Every design drew min(asked, pool), so fewer items than asked means the pool held
    # exactly that many.
    Campaign = apps.get_model("annotate", "Campaign")
    for campaign in Campaign.objects.exclude(sample_size=None):
        drawn, asked = campaign.items.count(), campaign.sample_size or 0
        campaign.sample_size_asked = asked
        if drawn < asked:
            campaign.sample_size = drawn
            campaign.pool_size = drawn
        campaign.save(update_fields=["sample_size", "sample_size_asked", "pool_size"])


def asked_back(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    Campaign = apps.get_model("annotate", "Campaign")
    Campaign.objects.exclude(sample_size_asked=None).update(
        sample_size=models.F("sample_size_asked")
    )


class Migration(migrations.Migration):
    dependencies = [
        ("annotate", "0002_serving"),
    ]

    operations = [
        migrations.AddField(
            model_name="campaign",
            name="pool_size",
            field=models.PositiveIntegerField(
                blank=True,
                help_text="Responses the items were drawn from, at creation.",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="campaign",
            name="sample_size_asked",
            field=models.PositiveIntegerField(
                blank=True,
                help_text="The sample size asked for: more than sample_size when the pool was "
                "smaller.",
                null=True,
            ),
        ),
        migrations.AlterField(
            model_name="campaign",
            name="sample_size",
            field=models.PositiveIntegerField(
                blank=True, help_text="Items drawn (every design but 'all').", null=True
            ),
        ),
        migrations.RunPython(drawn_not_asked, asked_back),
    ]
