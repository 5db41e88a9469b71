"""The `keyword` judge exists right after `migrate`: it needs no model and no setup."""

from __future__ import annotations

from django.db import migrations


def create_keyword_judge(apps, schema_editor):  # type: ignore[no-untyped-def]
    judge_model = apps.get_model("judging", "Judge")
    judge_model.objects.get_or_create(
        name="keyword",
        defaults={
            "kind": "keyword",
            "settings": {},
            "description": "String-match baseline with the built-in refusal phrases "
            "(judging/judges_text.py, DEFAULT_REFUSAL_KEYWORDS). Put a 'keywords' list in "
            "settings to use your own.",
        },
    )


class Migration(migrations.Migration):
    dependencies = [("judging", "0002_run_totals")]
    operations = [migrations.RunPython(create_keyword_judge, migrations.RunPython.noop)]
