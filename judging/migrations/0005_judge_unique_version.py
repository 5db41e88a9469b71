"""(name, version) is unique; in its own migration so that the constraint is added after the
data migration's transaction has committed (PostgreSQL refuses ALTER TABLE with pending
foreign-key trigger events)."""

from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("judging", "0004_judge_versions")]

    operations = [
        migrations.AddConstraint(
            model_name="judge",
            constraint=models.UniqueConstraint(
                fields=("name", "version"), name="judge_unique_version"
            ),
        ),
    ]
