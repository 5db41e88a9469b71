"""The chunk queue, moved here from inference (whose 0006 renamed the table to runs_chunk): the
model joins this app's state and nothing in the database changes but the content type's app,
so admin history that names a chunk follows it."""

from __future__ import annotations

from django.db import migrations, models


def relabel_content_type(apps, schema_editor):  # type: ignore[no-untyped-def]
    move_content_type(apps, source="inference", target="runs")


def restore_content_type(apps, schema_editor):  # type: ignore[no-untyped-def]
    move_content_type(apps, source="runs", target="inference")


def move_content_type(apps, *, source: str, target: str):  # type: ignore[no-untyped-def]
    """The chunk's content type to ``target``, unless one is there already (then the old one is
    left for remove_stale_contenttypes)."""
    content_types = apps.get_model("contenttypes", "ContentType").objects
    if not content_types.filter(app_label=target, model="chunk").exists():
        content_types.filter(app_label=source, model="chunk").update(app_label=target)


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("inference", "0006_chunk_to_runs"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Chunk",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("kind", models.CharField(max_length=20)),
                        ("job_id", models.PositiveIntegerField()),
                        ("queue", models.CharField(max_length=50)),
                        ("item_ids", models.JSONField(default=list)),
                        (
                            "state",
                            models.CharField(
                                choices=[
                                    ("queued", "Queued"),
                                    ("working", "Working"),
                                    ("retry_wait", "Waiting to retry"),
                                ],
                                default="queued",
                                max_length=20,
                            ),
                        ),
                        ("attempts", models.PositiveIntegerField(default=0)),
                        ("worker", models.CharField(blank=True, max_length=200)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("started_at", models.DateTimeField(blank=True, null=True)),
                        ("heartbeat_at", models.DateTimeField(blank=True, null=True)),
                    ],
                    options={
                        "ordering": ["pk"],
                        "indexes": [
                            models.Index(fields=["queue", "state"], name="chunk_queue_state"),
                            models.Index(fields=["kind", "job_id"], name="chunk_job"),
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(relabel_content_type, restore_content_type),
    ]
